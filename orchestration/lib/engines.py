"""What the Python side does around dbt on each engine (Settings.engine, WAREHOUSE_ENGINE).

Whatever the engine, the Python assets (ingestion, the phone lookup, CLV, churn, the
quality checks, publishing, the dashboard) read and write the warehouse through one
interface: relations named `<schema>.<table>` in the warehouse file (WarehouseResource),
read as DuckDB SQL into Arrow or pandas. The tables Python writes (raw with its landing
accounting, lookup, ml, dq) are DuckDB tables on both engines.

- `duckdb`: dbt builds its models in that same file; nothing to do around it.
- `spark`: dbt builds Spark tables, Parquet files under
  `$WAREHOUSE_DIR/spark/tables/<schema>.db/<table>/`. Before each dbt step the tables
  Python writes are copied to Parquet (lib/parquet_mirror), which Spark reads as views;
  after it, every model and seed Spark built becomes a view of the same name in the
  warehouse file over its Parquet files. The Python assets then read what Spark built
  without a Spark session of their own (the local metastore's Derby database admits one
  JVM at a time, and dbt's holds it while it runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.ingest_sql import ident, lit
from orchestration.lib.parquet_mirror import mirror_warehouse

# What dbt builds that Python may read: a test or an operation leaves no table.
BUILT_RESOURCES = ("model", "seed", "snapshot")
# The tables Python writes for dbt to read as source('ml', ...) (macro create_ml_tables).
ML_SCHEMA = "ml"


def spark_tables_dir(warehouse_dir: Path) -> Path:
    """Where Spark keeps its tables (profiles.yml's spark.sql.warehouse.dir)."""
    return warehouse_dir / "spark" / "tables"


def table_files(tables_dir: Path, schema: str, table: str) -> Path:
    return tables_dir / f"{schema}.db" / table


def has_ml_tables(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ?", [ML_SCHEMA]
        ).fetchone()[0]
    )


def copy_sources_for_spark(con: duckdb.DuckDBPyConnection, parquet_dir: Path) -> list[str]:
    """Bring the Parquet copies Spark reads up to date with the tables Python wrote."""
    return mirror_warehouse(con, parquet_dir)


def _object_type(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    row = con.execute(
        "select table_type from information_schema.tables"
        " where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return row[0] if row else None


def expose_spark_tables(
    con: duckdb.DuckDBPyConnection, nodes: Iterable[Mapping[str, Any]], tables_dir: Path
) -> list[str]:
    """Make each built node Spark holds as Parquet a view of the same name in the warehouse
    file, reading its files; returns those views as schema.table. A table of the same
    name (from a build on DuckDB) gives way to the view. A node Spark has not built yet is
    left alone."""
    exposed = []
    for node in nodes:
        if node["resource_type"] not in BUILT_RESOURCES:
            continue
        schema, name = node["schema"], node["alias"]
        files = table_files(tables_dir, schema, name)
        if not any(files.glob("*.parquet")):
            continue
        con.execute(f"create schema if not exists {ident(schema)}")
        relation = f"{ident(schema)}.{ident(name)}"
        if _object_type(con, schema, name) == "BASE TABLE":
            con.execute(f"drop table {relation}")
        con.execute(
            f"create or replace view {relation} as "
            f"select * from read_parquet({lit(str(files / '*.parquet'))})"
        )
        exposed.append(f"{schema}.{name}")
    return exposed
