"""Small helpers over a DuckDB connection shared by the pipeline's Python steps."""

from __future__ import annotations

import duckdb


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    """The first value of the query's first row. The result is read to its end: DuckDB 2
    refuses other work (registering a frame) on a connection with a result left open."""
    return con.execute(sql, params or []).fetchall()[0][0]
