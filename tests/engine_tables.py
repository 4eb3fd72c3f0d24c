"""Comparing the tables one dbt build wrote on DuckDB with those another wrote on Spark.

Spark's tables are Parquet directories under its warehouse directory
(`<schema>.db/<table>/`), read here with DuckDB, so no Spark session is needed. Values
are compared after one canonical form per type: numbers as doubles rounded to 1e-9
(money is exact to the cent, probabilities to 1e-9), integers of any width alike,
timestamps and dates as such, text and booleans as they are. Rows are compared as
multisets (`except all` both ways): the order of rows is no part of a table.
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


def model_tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[str]:
    """schema.table of every base table of `schemas` on the DuckDB side."""
    placeholders = ", ".join("?" for _ in schemas)
    return [
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables"
            f" where table_type = 'BASE TABLE' and table_schema in ({placeholders})"
            " order by all",
            list(schemas),
        ).fetchall()
    ]


# When a build wrote a row (build_timestamp): the wall clock of each build.
BUILD_STAMPS = frozenset({"_changed_at", "_state_written_at", "_assigned_at", "_resolved_at"})


def table_differences(
    duckdb_path: Path, spark_tables: Path, schemas: tuple[str, ...]
) -> dict[str, str]:
    """Every table of `schemas` on the DuckDB side, with what differs on the Spark side
    (no table, other columns, or the counts of rows only one side has; empty when
    nothing does); the build stamps are left out."""
    differences = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for name in model_tables(con, schemas):
            schema, table = name.split(".")
            directory = spark_tables / f"{schema}.db" / table
            if not any(directory.glob("*.parquet")):
                differences[name] = "no Spark table"
                continue
            columns = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            con.execute(
                f"create or replace temp view spark_side as "
                f"select * from read_parquet('{directory}/*.parquet')"
            )
            spark_columns = {row[0] for row in con.execute("describe spark_side").fetchall()}
            if differ := sorted(spark_columns ^ {c for c, _ in columns}):
                differences[name] = f"columns on one side only: {differ}"
                continue
            select = ", ".join(_canonical(c, t) for c, t in columns if c not in BUILD_STAMPS)
            only_duckdb, only_spark = con.execute(
                f"""
                select
                    (select count(*) from (
                        select {select} from {schema}."{table}"
                        except all select {select} from spark_side)),
                    (select count(*) from (
                        select {select} from spark_side
                        except all select {select} from {schema}."{table}"))
                """
            ).fetchone()
            differences[name] = (
                f"{only_duckdb} rows only on DuckDB, {only_spark} only on Spark"
                if only_duckdb or only_spark
                else ""
            )
    return differences
