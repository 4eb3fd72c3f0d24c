"""Late and corrected data: files delivered after the clean run, written by hand in the
contract's format, change exactly the rows they should on the next run.

Delivered into the last existing delivery folder (so the as-of date stays):
- order A re-sent with a later `updated_at` and status `cancelled`: its revenue goes to 0;
- order B re-sent with a later `updated_at` and net/gross 10.00 higher;
- order C re-sent with an EARLIER `updated_at` and another amount: the stale version loses;
- order L, new, placed three days before the folder's date: it counts on its own day;
- order D, new, twice in the same file with the same `updated_at`: the later line wins and
  it is counted once.
A, B, L and D are USD orders on four different (day, channel) cells, so every expected change
in `marts.rpt_channel_daily` is worked out from the clean run's numbers by hand below.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal

import duckdb
import pytest

from orchestration.lib.contract import SOURCES_BY_NAME
from tests.e2e.pipeline_cli import copy_state, run_cli

pytestmark = pytest.mark.e2e

ORDERS = SOURCES_BY_NAME["web_orders"]
LATE_NET = Decimal("123.45")
DUP_NET = (Decimal("50.00"), Decimal("60.00"))  # first line, later line
CORRECTION = Decimal("10.00")

# The winning version of each order by the contract's rule, with its clean-run fact row.
CANDIDATES = """
with latest as (
    select * from raw.web_orders
    qualify row_number() over (
        partition by order_id
        order by updated_at desc nulls last, _delivery_date desc, _file desc, _line desc
    ) = 1
)
select latest.*, f.order_date, f.channel, f.revenue_usd
from latest join marts.fct_orders as f on f.source = 'web_orders' and f.order_id = latest.order_id
where f.status = 'delivered' and latest.currency = 'USD' and latest.updated_at is not null
  and f.order_date between ? and ?
order by latest.order_id
"""


def contract_text(value) -> str:
    """A raw value written back as the contract spells it (timestamps as UTC with `Z`)."""
    if value is None:
        return ""
    if hasattr(value, "hour"):
        return value.isoformat() + "Z"
    return str(value)


def channel_daily(con) -> dict[tuple, tuple]:
    return {
        (d, c): (revenue, orders)
        for d, c, revenue, orders in con.execute(
            "select activity_date, channel, revenue_usd, order_count from marts.rpt_channel_daily"
        ).fetchall()
    }


@pytest.fixture(scope="module")
def late(clean_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("late") / "root"
    env = copy_state(clean_run.root, root)
    folder = max((root / "landing" / "web_orders").iterdir())
    as_of = folder.name
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        late_day = con.execute("select cast(? as date) - 3", [as_of]).fetchone()[0]
        found = con.execute(CANDIDATES, [late_day - timedelta(days=40), late_day - timedelta(7)])
        names = [d[0] for d in found.description]
        rows = [dict(zip(names, r, strict=True)) for r in found.fetchall()]
        customer = con.execute("select min(customer_ref) from raw.crm_customers").fetchone()[0]
        before_daily = channel_daily(con)
        before_total = con.execute("select sum(revenue_usd) from marts.fct_orders").fetchone()[0]
    picked, days = [], set()
    for row in rows:  # three orders on three distinct (day, channel) cells
        if (row["order_date"], row["channel"]) not in days and len(picked) < 3:
            picked.append(row)
            days.add((row["order_date"], row["channel"]))
    a, b, c = picked
    later = timedelta(days=1)
    versions = [
        {**a, "status": "cancelled", "updated_at": a["updated_at"] + later},
        {
            **b,
            "gross_amount": b["gross_amount"] + CORRECTION,
            "net_amount": b["net_amount"] + CORRECTION,
            "updated_at": b["updated_at"] + later,
        },
        {**c, "net_amount": Decimal("999.99"), "updated_at": c["updated_at"] - later},
    ]
    late_order = {name: None for name in ORDERS.column_names} | {
        "order_id": "LATE0000001",
        "order_ts": f"{late_day}T12:00:00Z",
        "updated_at": f"{late_day}T12:00:00Z",
        "storefront": "web",
        "status": "delivered",
        "customer_ref": customer,
        "currency": "USD",
        "gross_amount": LATE_NET,
        "discount_amount": Decimal("0.00"),
        "net_amount": LATE_NET,
        "item_count": 1,
    }
    duplicates = [
        late_order
        | {"order_id": "DUP0000001", "storefront": "app", "gross_amount": net, "net_amount": net}
        for net in DUP_NET
    ]
    with open(folder / "zz_late_and_corrections.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(ORDERS.column_names)
        for version in [*versions, late_order, *duplicates]:
            writer.writerow([contract_text(version[n]) for n in ORDERS.column_names])
    run_cli(env, "run")
    con = duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True)
    yield {
        "a": a,
        "b": b,
        "c": c,
        "late_day": late_day,
        "before_daily": before_daily,
        "before_total": before_total,
        "con": con,
    }
    con.close()


def fact(con, order_id):
    return con.execute(
        "select status, net_amount, revenue_usd, order_date, channel from marts.fct_orders "
        "where source = 'web_orders' and order_id = ?",
        [order_id],
    ).fetchall()


def test_a_later_version_replaces_the_old_one_downstream(late):
    con, a, b = late["con"], late["a"], late["b"]
    assert fact(con, a["order_id"]) == [
        ("cancelled", a["net_amount"], Decimal("0.00"), a["order_date"], a["channel"])
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
    c = late["c"]
    assert fact(late["con"], c["order_id"]) == [
        ("delivered", c["net_amount"], c["revenue_usd"], c["order_date"], c["channel"])
    ]


def test_a_late_order_lands_in_its_own_day(late):
    assert fact(late["con"], "LATE0000001") == [
        ("delivered", LATE_NET, LATE_NET, late["late_day"], "web")
    ]


def test_a_key_twice_in_one_file_keeps_the_later_line_once(late):
    assert fact(late["con"], "DUP0000001") == [
        ("delivered", DUP_NET[1], DUP_NET[1], late["late_day"], "app")
    ]


def test_channel_kpis_move_by_exactly_the_corrections(late):
    a, b = late["a"], late["b"]
    # (revenue, order count) change per cell: A cancelled loses its revenue and stops being a
    # purchase; B gains the correction; L and D add an order on their day; nothing else moves.
    change = {
        (a["order_date"], a["channel"]): (-a["revenue_usd"], -1),
        (b["order_date"], b["channel"]): (CORRECTION, 0),
        (late["late_day"], "web"): (LATE_NET, 1),
        (late["late_day"], "app"): (DUP_NET[1], 1),
    }
    expected = {
        cell: (revenue + change.get(cell, (0, 0))[0], orders + change.get(cell, (0, 0))[1])
        for cell, (revenue, orders) in late["before_daily"].items()
    }
    assert len(change) == 4 and set(change) <= set(expected)
    assert channel_daily(late["con"]) == expected
    total = late["con"].execute("select sum(revenue_usd) from marts.fct_orders").fetchone()[0]
    assert total == late["before_total"] - a["revenue_usd"] + CORRECTION + LATE_NET + DUP_NET[1]
