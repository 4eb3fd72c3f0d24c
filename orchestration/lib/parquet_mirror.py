"""The tables Python writes (raw, lookup, ml) as Parquet, for an engine other than DuckDB.

Ingestion, the phone lookup and the models write to the DuckDB warehouse, which also keeps
the landing accounting (raw._files, raw._rejects). When dbt runs on Spark, it reads these
tables as Parquet under `<root>/<schema>/<table>/`:

- a raw source is partitioned by delivery day, one file per ingestion batch
  (`_delivery_date=2026-05-02/batch_<batch id>.parquet`). A sync writes the batches the
  mirror lacks and deletes the files of batches raw no longer holds (a reload), so a
  night writes only that night's batches;
- every other table is one file, written again whole (they are small: the phone lookup,
  model outputs, raw's landing accounting).

A source without batches is one empty file carrying its columns, so that a reader finds
them. The Spark side (dbt macro `register_parquet_tables`) makes each directory a view,
its columns, types and delivery days read from the files.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

PARTITION_COLUMN = "_delivery_date"
BATCH_COLUMN = "_batch_id"
EMPTY_FILE = "empty.parquet"


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns"
            " where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def _copy(con: duckdb.DuckDBPyConnection, select: str, path: Path, params=None) -> None:
    """Write a query's rows to one Parquet file, atomically (written aside, then renamed)."""
    aside = path.with_name(f".{path.name}.tmp")
    con.execute(f"copy ({select}) to '{aside}' (format parquet, compression zstd)", params or [])
    os.replace(aside, path)


def mirror_whole(con: duckdb.DuckDBPyConnection, root: Path, schema: str, table: str) -> None:
    """Write a table again as one file."""
    directory = root / schema / table
    directory.mkdir(parents=True, exist_ok=True)
    _copy(con, f'select * from {schema}."{table}"', directory / "data.parquet")


def mirror_batches(con: duckdb.DuckDBPyConnection, root: Path, schema: str, table: str) -> None:
    """Bring a raw source's Parquet to the batches the table holds: one file per batch in
    its delivery day's folder; files of batches no longer held are removed."""
    directory = root / schema / table
    directory.mkdir(parents=True, exist_ok=True)
    held = {
        (day.isoformat(), batch)
        for day, batch in con.execute(
            f'select distinct {PARTITION_COLUMN}, {BATCH_COLUMN} from {schema}."{table}"'
        ).fetchall()
    }
    present = {
        (folder.name.removeprefix(f"{PARTITION_COLUMN}="), file.stem.removeprefix("batch_"))
        for folder in directory.glob(f"{PARTITION_COLUMN}=*")
        for file in folder.glob("batch_*.parquet")
    }
    for day, batch in sorted(present - held):
        (directory / f"{PARTITION_COLUMN}={day}" / f"batch_{batch}.parquet").unlink()
    for folder in directory.glob(f"{PARTITION_COLUMN}=*"):
        if not any(folder.iterdir()):
            folder.rmdir()
    data_columns = ", ".join(
        f'"{name}"' for name in _columns(con, schema, table) if name != PARTITION_COLUMN
    )
    for day, batch in sorted(held - present):
        folder = directory / f"{PARTITION_COLUMN}={day}"
        folder.mkdir(exist_ok=True)
        _copy(
            con,
            f'select {data_columns} from {schema}."{table}"'
            f" where {PARTITION_COLUMN} = ?::date and {BATCH_COLUMN} = ?",
            folder / f"batch_{batch}.parquet",
            [day, batch],
        )
    # Without any batch, one empty file gives a reader the columns; it must go once
    # delivery folders exist, since a reader refuses files beside partition folders.
    empty = directory / EMPTY_FILE
    if held:
        empty.unlink(missing_ok=True)
    elif not empty.exists():
        _copy(con, f'select * from {schema}."{table}" limit 0', empty)


def mirror_warehouse(con: duckdb.DuckDBPyConnection, root: Path) -> list[str]:
    """Bring the Parquet under `root` up to date with every raw source, the phone lookup and
    the model outputs the warehouse holds; returns the tables mirrored, as schema.table."""
    from orchestration.lib.contract import SOURCES

    # whole: the lookup, the model outputs and raw's landing accounting (_files, _rejects)
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema in ('lookup', 'ml')"
        " or (table_schema = 'raw' and starts_with(table_name, '_'))"
        " order by all"
    ).fetchall()
    for schema, table in tables:
        mirror_whole(con, root, schema, table)
    for source in SOURCES:
        mirror_batches(con, root, "raw", source.name)
    return [f"{s}.{t}" for s, t in tables] + [f"raw.{s.name}" for s in SOURCES]
