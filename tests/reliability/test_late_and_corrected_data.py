"""Late and corrected data: the orders that tests/e2e/late_corrections.py writes into
the clean run's last delivery day change exactly the rows they should when the second
night takes them in incrementally (that the same files built from scratch give the same
marts is tests/e2e/test_identity_increments.py).

The expected values are worked out by hand from what the first night held: A cancelled
loses its revenue and stops being a purchase, B gains the correction, C keeps its
version, L and D count once on their own day.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.e2e.late_corrections import (
    CELL_FACTS,
    CELL_KPIS,
    CORRECTION,
    DUP_NET,
    FACT,
    LATE_FILE,
    LATE_NET,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def late(clean_run):
    con = duckdb.connect(str(clean_run.warehouse), read_only=True)
    yield clean_run.nights.late_orders, con
    con.close()


def fact(con, order_id):
    return con.execute(FACT, [order_id]).fetchall()


def test_the_late_file_came_with_the_second_night(clean_run):
    statuses = clean_run.nights.statuses
    last_day = max(p.name for p in (clean_run.root / "landing" / "web_orders").iterdir())
    assert statuses[f"web_orders/{last_day}/{LATE_FILE}"] == "loaded"


def test_a_later_version_replaces_the_old_one_downstream(late):
    orders, con = late
    a, b = orders.a, orders.b
    assert fact(con, a["order_id"]) == [
        ("cancelled", a["net_amount"], 0, a["order_date"], a["channel"])
    ]
    assert fact(con, b["order_id"]) == [
        (
            "delivered",
            b["net_amount"] + CORRECTION,
            b["revenue_usd"] + CORRECTION,
            b["order_date"],
            b["channel"],
        )
    ]


def test_an_older_version_sent_later_does_not_win(late):
    orders, con = late
    c = orders.c
    assert fact(con, c["order_id"]) == [
        ("delivered", c["net_amount"], c["revenue_usd"], c["order_date"], c["channel"])
    ]


def test_a_late_order_lands_in_its_own_day(late):
    orders, con = late
    assert fact(con, "LATE0000001") == [("delivered", LATE_NET, LATE_NET, orders.late_day, "web")]


def test_a_key_twice_in_one_file_keeps_the_later_line_once(late):
    orders, con = late
    assert fact(con, "DUP0000001") == [
        ("delivered", DUP_NET[1], DUP_NET[1], orders.late_day, "app")
    ]


def test_channel_kpis_move_by_exactly_the_corrections(late):
    """A's and B's (day, channel) cells of rpt_channel_daily: (revenue, order count) is
    the first night's plus the correction, and the cells' other orders are as the first
    night left them (so nothing else can have moved the cell)."""
    orders, con = late
    a, b = orders.a, orders.b
    change = {
        (a["order_date"], a["channel"]): (-a["revenue_usd"], -1, a["order_id"]),
        (b["order_date"], b["channel"]): (CORRECTION, 0, b["order_id"]),
    }
    for cell, (revenue, count, order_id) in change.items():
        after = con.execute(CELL_FACTS, list(cell)).fetchall()
        before = orders.cell_facts[cell]
        assert [r for r in after if r[1] != order_id] == [r for r in before if r[1] != order_id]
        revenue_before, count_before = orders.cell_kpis[cell]
        assert con.execute(CELL_KPIS, list(cell)).fetchone() == (
            revenue_before + revenue,
            count_before + count,
        )
