"""Publishing the BI file: build a fresh DuckDB file beside the live one, then swap it in.

Readers that have the old file open keep reading the old version (the rename
replaces the directory entry, not the inode), new readers open the new one; no
reader ever sees a half-written file. The previous version is kept as a hard link
for rollback.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

PUBLISHED_NAME = "marts.duckdb"
PREVIOUS_NAME = "marts.previous.duckdb"


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]  # table -> row count
    previous: Path | None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_marts(warehouse_path: Path, publish_dir: Path, tables: list[str]) -> PublishResult:
    """Copy `marts.<table>` for each allow-listed table into `<publish_dir>/marts.duckdb`."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    final = publish_dir / PUBLISHED_NAME
    staging_file = publish_dir / f".{PUBLISHED_NAME}.{uuid.uuid4().hex}.tmp"
    counts: dict[str, int] = {}
    try:
        con = duckdb.connect(str(staging_file))
        try:
            con.execute(f"attach '{warehouse_path}' as warehouse (read_only)")
            for table in tables:
                con.execute(
                    f'create table main."{table}" as select * from warehouse.marts."{table}"'
                )
                counts[table] = con.execute(f'select count(*) from main."{table}"').fetchone()[0]
            con.execute("detach warehouse")
            con.execute("checkpoint")
        finally:
            con.close()
        with open(staging_file, "rb") as handle:
            os.fsync(handle.fileno())
        previous = None
        if final.exists():
            previous = publish_dir / PREVIOUS_NAME
            link = publish_dir / f".{PREVIOUS_NAME}.{uuid.uuid4().hex}.tmp"
            os.link(final, link)
            os.replace(link, previous)
        os.replace(staging_file, final)
        _fsync_dir(publish_dir)
    finally:
        staging_file.unlink(missing_ok=True)
    return PublishResult(path=final, tables=counts, previous=previous)
