"""Comparing the tables of two DuckDB databases: what the nightly built (or published) on
DuckDB with what it built (or published) on Spark.

A warehouse the nightly ran on Spark holds every model as a view over the Parquet files
Spark wrote (orchestration/lib/engines.py), so both sides are read with DuckDB and no
Spark session is needed. Values are compared after one canonical form per type: numbers
as doubles rounded to 1e-9 (money is exact to the cent, probabilities to 1e-9), integers
of any width alike, timestamps and dates as such, text and booleans as they are. Rows are
compared as multisets (`except all` both ways): the order of rows is no part of a table.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "DECIMAL")


def _canonical(column: str, data_type: str) -> str:
    quoted = f'"{column}"'
    if data_type.startswith(NUMERIC):
        return f"round(cast({quoted} as double), 9) as {quoted}"
    return quoted


def _relations(con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]) -> set:
    placeholders = ", ".join("?" for _ in schemas)
    return {
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables"
            f" where table_catalog = ? and table_schema in ({placeholders})",
            [catalog, *schemas],
        ).fetchall()
    }


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> list[tuple[str, str]]:
    schema, table = name.split(".")
    return con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = ? and table_schema = ? and table_name = ?"
        " order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()


# When a build wrote a row (build_timestamp): the wall clock of each build.
BUILD_STAMPS = frozenset({"_changed_at", "_state_written_at", "_assigned_at", "_resolved_at"})


def table_differences(
    reference: Path, other: Path, schemas: tuple[str, ...], compare_types: bool = False
) -> dict[str, str]:
    """Every base table of `schemas` in `reference`, with what differs in the relation of
    that name (table or view) in `other`: none there, other columns (or column types,
    `compare_types`), or the counts of rows only one side has; empty when nothing does.
    The build stamps are left out."""
    differences = {}
    with duckdb.connect(str(reference), read_only=True) as con:
        con.execute(f"attach '{other}' as other (read_only)")
        catalog = con.execute("select current_database()").fetchone()[0]
        base_tables = {
            f"{s}.{t}"
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_catalog = ? and table_type = 'BASE TABLE'",
                [catalog],
            ).fetchall()
        }
        theirs = _relations(con, "other", schemas)
        for name in sorted(_relations(con, catalog, schemas) & base_tables):
            if name not in theirs:
                differences[name] = "missing"
                continue
            columns = _columns(con, catalog, name)
            other_columns = _columns(con, "other", name)
            if compare_types and columns != other_columns:
                differences[name] = f"columns differ: {sorted(set(columns) ^ set(other_columns))}"
                continue
            if differ := sorted({c for c, _ in columns} ^ {c for c, _ in other_columns}):
                differences[name] = f"columns on one side only: {differ}"
                continue
            select = ", ".join(_canonical(c, t) for c, t in columns if c not in BUILD_STAMPS)
            schema, table = name.split(".")
            mine, other_side = f'{catalog}.{schema}."{table}"', f'other.{schema}."{table}"'
            only_reference, only_other = con.execute(
                f"""
                select
                    (select count(*) from (
                        select {select} from {mine} except all select {select} from {other_side})),
                    (select count(*) from (
                        select {select} from {other_side} except all select {select} from {mine}))
                """
            ).fetchone()
            differences[name] = (
                f"{only_reference} rows only in {reference.name}, {only_other} only in {other.name}"
                if only_reference or only_other
                else ""
            )
    return differences
