"""The short report `make run` prints after a pipeline run, read from the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb


@dataclass
class CheckTally:
    passed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)


def source_table(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Per source: files loaded / duplicate / quarantined, rows loaded / rejected."""
    return con.execute(
        """
        select
            source,
            count(*) filter (where status = 'loaded') as files_loaded,
            count(*) filter (where status = 'duplicate') as files_duplicate,
            count(*) filter (where status = 'quarantined') as files_quarantined,
            coalesce(sum(rows_loaded), 0) as rows_loaded,
            coalesce(sum(rows_rejected), 0) as rows_rejected
        from raw._files
        group by source
        order by source
        """
    ).fetchall()


def headline(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    customers = con.execute(
        "select count(distinct customer_id) from marts.fct_touchpoints"
    ).fetchone()[0]
    orders, revenue = con.execute(
        "select count(*), coalesce(sum(revenue_usd), 0) from marts.fct_orders"
    ).fetchone()
    return {"customers": customers, "orders": orders, "revenue_usd": revenue}


def format_summary(
    sources: list[tuple], headline_figures: dict[str, object], checks: CheckTally, published: str
) -> str:
    header = ("source", "files", "duplicate", "quarantined", "rows loaded", "rows rejected")
    widths = (24, 7, 11, 13, 13, 15)
    lines = [
        "".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    for row in sources:
        lines.append(
            "".join(
                str(v).ljust(w) if i == 0 else f"{v:,}".rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    lines += [
        "",
        f"customers: {headline_figures['customers']:,}   orders: {headline_figures['orders']:,}"
        f"   revenue (USD): {headline_figures['revenue_usd']:,.2f}",
        f"checks: {checks.passed} passed, {checks.failed} failed",
        *(f"  failed: {name}" for name in checks.failures),
        f"published: {published}",
    ]
    return "\n".join(lines)
