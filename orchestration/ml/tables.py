"""Reading the feature tables and writing the `ml` tables (created by dbt's
`create_ml_tables` macro) — the only I/O of the model code."""

from __future__ import annotations

import duckdb
import pandas as pd

# Feature tables' key: one row per customer and snapshot date.
SNAPSHOT_ORDER = "snapshot_date, customer_id"


def read_table(con: duckdb.DuckDBPyConnection, table: str, order_by: str) -> pd.DataFrame:
    """The whole table in a fixed row order: DuckDB scans in parallel, and a model fitted
    on the same rows in another order differs in the last digits."""
    return con.execute(f"select * from {table} order by {order_by}").df()


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame | None,
    key: dict[str, object],
) -> int:
    """Replace the rows of `table` whose `key` columns equal the given values (an as-of
    date, a run) by `frame` (None: by nothing), in one transaction: a rerun replaces,
    never duplicates."""
    where = " and ".join(f"{column} = ?" for column in key)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {table} where {where}", list(key.values()))
        if frame is not None and len(frame):
            con.register("ml_frame", frame)
            con.execute(f"insert into {table} by name select * from ml_frame")
            con.unregister("ml_frame")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return 0 if frame is None else len(frame)
