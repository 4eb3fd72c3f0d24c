"""Late and corrected orders, written by hand in the contract's format into the clean
run's last delivery day (`plant_late_and_corrections`), so the second night takes them
through the incremental path:

- order A, delivered in the first night, re-sent with a later `updated_at` and status
  `cancelled`: its revenue goes to 0;
- order B, likewise, re-sent with net and gross 10.00 higher;
- order C re-sent with an EARLIER `updated_at` and another amount: the stale version loses;
- order L, new, placed three days before the last day: it counts on its own day;
- order D, new, twice in the same file with the same `updated_at`: the later line wins and
  it is counted once.

A, B and C are delivered USD orders of three different (day, channel) cells of the first
night, picked from its warehouse; what those cells and facts held after the first night
is kept, so the tests (tests/reliability/test_late_and_corrected_data.py) can work out
every expected change by hand.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.lib.contract import SOURCES_BY_NAME

ORDERS = SOURCES_BY_NAME["web_orders"]
LATE_FILE = "zz_late_and_corrections.csv"
LATE_NET = Decimal("123.45")
DUP_NET = (Decimal("50.00"), Decimal("60.00"))  # first line, later line
CORRECTION = Decimal("10.00")

# The winning version of each order by the contract's rule, with its fact row.
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
FACT = (
    "select status, net_amount, revenue_usd, order_date, channel from marts.fct_orders "
    "where source = 'web_orders' and order_id = ?"
)
CELL_FACTS = (
    "select source, order_id, status, revenue_usd from marts.fct_orders "
    "where order_date = ? and channel = ? order by all"
)
CELL_KPIS = (
    "select revenue_usd, order_count from marts.rpt_channel_daily "
    "where activity_date = ? and channel = ?"
)


@dataclass(frozen=True)
class LateOrders:
    """What the first night held for the corrected orders and their cells."""

    a: dict
    b: dict
    c: dict
    late_day: date
    cell_kpis: dict[tuple[date, str], tuple]  # (day, channel) of A and B -> (revenue, orders)
    cell_facts: dict[tuple[date, str], list[tuple]]  # the same cells' fact rows


def contract_text(value) -> str:
    """A raw value written back as the contract spells it (timestamps as UTC with `Z`)."""
    if value is None:
        return ""
    if hasattr(value, "hour"):
        return value.isoformat() + "Z"
    return str(value)


def plant_late_and_corrections(
    warehouse: Path, folder: Path, first_night: tuple[date, date], forgotten_ref: str
) -> LateOrders:
    """Write LATE_FILE into `folder`, the last delivery day, with corrections of orders
    whose order date lies in `first_night` (first, last day) in `warehouse`."""
    last_day = date.fromisoformat(folder.name)
    late_day = last_day - timedelta(days=3)
    corrected_at = datetime.combine(last_day, time(12))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute(CANDIDATES, list(first_night))
        names = [d[0] for d in found.description]
        rows = [dict(zip(names, r, strict=True)) for r in found.fetchall()]
        customer = con.execute(
            "select min(customer_ref) from raw.crm_customers where customer_ref != ?",
            [forgotten_ref],
        ).fetchone()[0]
        picked, cells = [], set()
        for row in rows:  # three orders on three distinct (day, channel) cells
            if (row["order_date"], row["channel"]) not in cells and len(picked) < 3:
                picked.append(row)
                cells.add((row["order_date"], row["channel"]))
        a, b, c = picked
        kept = [(a["order_date"], a["channel"]), (b["order_date"], b["channel"])]
        cell_kpis = {cell: con.execute(CELL_KPIS, list(cell)).fetchone() for cell in kept}
        cell_facts = {cell: con.execute(CELL_FACTS, list(cell)).fetchall() for cell in kept}
    versions = [
        {**a, "status": "cancelled", "updated_at": corrected_at},
        {
            **b,
            "gross_amount": b["gross_amount"] + CORRECTION,
            "net_amount": b["net_amount"] + CORRECTION,
            "updated_at": corrected_at,
        },
        {**c, "net_amount": Decimal("999.99"), "updated_at": c["updated_at"] - timedelta(1)},
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
    with open(folder / LATE_FILE, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(ORDERS.column_names)
        for version in [*versions, late_order, *duplicates]:
            writer.writerow([contract_text(version[n]) for n in ORDERS.column_names])
    return LateOrders(a, b, c, late_day, cell_kpis, cell_facts)
