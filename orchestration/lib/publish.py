"""Publishing the BI file: build a fresh DuckDB file beside the live one, then swap it in.

Readers that have the old file open keep reading the old version (the rename
replaces the directory entry, not the inode), new readers open the new one; no
reader ever sees a half-written file. The previous version is kept as a hard link
for rollback.

Columns the dbt YAML marks `meta: {pii: true}` are replaced by a keyed hash
(sha256 of key and value: stable across runs for joins, not reversible without
the key, which never enters the file), and the finished file is scanned for
e-mail addresses before it may replace the live one.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

PUBLISHED_NAME = "marts.duckdb"
PREVIOUS_NAME = "marts.previous.duckdb"
HASH_KEY_VAR = "PUBLISH_HASH_KEY"
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"


class PiiLeakError(RuntimeError):
    """The file about to be published holds personal data; it is not published."""


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]  # table -> row count
    previous: Path | None


def hash_key(warehouse_dir: Path) -> str:
    """$PUBLISH_HASH_KEY, else a random key kept beside the internal warehouse."""
    if os.environ.get(HASH_KEY_VAR):
        return os.environ[HASH_KEY_VAR]
    key_file = warehouse_dir / ".publish_hash_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_masked(con: duckdb.DuckDBPyConnection, table: str, pii: list[str], key: str) -> None:
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'warehouse' "
            "and schema_name = 'marts' and table_name = ? order by column_index",
            [table],
        ).fetchall()
    ]
    if not columns:
        raise ValueError(f"marts.{table} is not in the warehouse: build it before publishing")
    unknown = sorted(set(pii) - set(columns))
    if unknown:
        raise ValueError(f"marts.{table} has no column {unknown} marked pii in the dbt YAML")
    select = ", ".join(
        f'sha256($key || cast("{c}" as varchar)) as "{c}"' if c in pii else f'"{c}"'
        for c in columns
    )
    con.execute(
        f'create table main."{table}" as select {select} from warehouse.marts."{table}"',
        {"key": key} if pii else None,
    )


def find_emails(con: duckdb.DuckDBPyConnection) -> list[str]:
    """`table.column (n rows)` for every text column of `main` holding an e-mail address."""
    text_columns = con.execute(
        "select table_name, column_name from duckdb_columns() where database_name = "
        "current_database() and schema_name = 'main' and data_type = 'VARCHAR'"
    ).fetchall()
    found = []
    for table, column in text_columns:
        hits = con.execute(
            f'select count(*) from main."{table}" where regexp_matches("{column}", ?)',
            [EMAIL_PATTERN],
        ).fetchone()[0]
        if hits:
            found.append(f"{table}.{column} ({hits} rows)")
    return found


def publish_marts(
    warehouse_path: Path, publish_dir: Path, tables: dict[str, list[str]], key: str
) -> PublishResult:
    """Copy the allow-listed `marts` tables (table -> its pii columns) into
    `<publish_dir>/marts.duckdb`, masking the pii columns."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    final = publish_dir / PUBLISHED_NAME
    staging_file = publish_dir / f".{PUBLISHED_NAME}.{uuid.uuid4().hex}.tmp"
    counts: dict[str, int] = {}
    try:
        con = duckdb.connect(str(staging_file))
        try:
            con.execute(f"attach '{warehouse_path}' as warehouse (read_only)")
            for table, pii in tables.items():
                _copy_masked(con, table, pii, key)
                counts[table] = con.execute(f'select count(*) from main."{table}"').fetchone()[0]
            con.execute("detach warehouse")
            leaks = find_emails(con)
            if leaks:
                raise PiiLeakError(
                    "not published: e-mail addresses found in "
                    + ", ".join(leaks)
                    + " (mark the columns `meta: {pii: true}` in the marts YAML)"
                )
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
