"""Publishing the BI file: build a fresh DuckDB file beside the live one, then swap it in.

Layout of `$PUBLISH_DIR` (every name is replaced by an atomic rename, never rewritten):

    marts.duckdb            the published marts (BI tools open this, read-only)
    marts.previous.duckdb   the version before it, for `rollback()`
    parquet -> parquet.v<stamp>             symlink to this version's Parquet set
    parquet.previous -> parquet.v<stamp>    symlink to the previous version's set
    parquet.v<stamp>/<mart>.parquet         one directory per version, written once
    .publish.lock                           held by a publish or rollback (flock)

Readers that have the old file open keep reading the old version (the rename
replaces the directory entry, not the inode), new readers open the new one; no
reader ever sees a half-written file. A Parquet set is written and fsynced in
full before the `parquet` symlink is pointed at it, so switching the link swaps
every file at once: a reader that resolves the link once sees one run's files,
never a mix. The two swaps (DuckDB file, Parquet link) are each atomic; they
happen one after the other, so for a moment the Parquet set may still be the
older version. `rollback()` swaps current and previous the same way.

Columns whose name starts with `_` are the warehouse's bookkeeping (change stamps,
internal keys of incremental models) and are left out. Columns the dbt YAML marks
`meta: {pii: true}` are replaced by a keyed hash
(sha256 of key and value: stable across runs for joins, not reversible without
the key, which never enters the file). Before the swap, every other text column
is scanned for e-mail addresses and phone numbers, and joined against the raw
e-mail and phone values and the customers' full names from the warehouse; a hit
stops the publish and the previous version stays in place.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import uuid
from collections.abc import Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib.contract import SOURCES
from orchestration.lib.settings import DuckDBLimits

PUBLISHED_NAME = "marts.duckdb"
PREVIOUS_NAME = "marts.previous.duckdb"
PARQUET_LINK = "parquet"
PARQUET_PREVIOUS_LINK = "parquet.previous"
PARQUET_VERSION_PREFIX = "parquet.v"
LOCK_NAME = ".publish.lock"
# Temp names of `_temp_name()`, and the WAL or spill directory DuckDB may leave beside one.
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp(\..+)?$")
HASH_KEY_VAR = "PUBLISH_HASH_KEY"
# Columns the warehouse keeps for itself (an incremental model's change stamps and
# internal keys) start with this and are never published.
BOOKKEEPING_PREFIX = "_"
# The published file is written in the storage format of DuckDB 1.0, which every
# DuckDB from 1.0 on reads (BI tools bundle DuckDB 1.x; the pipeline's own may be newer).
PUBLISHED_STORAGE_VERSION = "v1.0.0"
OLDEST_READER = "1.0.0"
# Settings for every BI connection: read-only, no files but the published one,
# and no way to switch that back on from SQL.
READER_CONFIG = {"enable_external_access": False, "lock_configuration": True}

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
# Phone numbers as written, not bare digit runs (those are ids and amounts; a bare
# number that is a customer's phone is caught by the raw-value join instead):
# international with + (E.164, spaces, dashes, an area code in parentheses),
# North American (555) 123 4567 / 555-123-4567 / 555.123.4567, trunk-prefixed
# national numbers (020 7946 0958, 07700 900123), French 06 12 34 56 78. The
# digits may not touch letters, digits, dots or dashes, so ids, versions and dates
# around them do not match.
_BEFORE = r"(^|[^\w.+-])"
_AFTER = r"($|[^\w.-]|\.($|\s))"
PHONE_PATTERN = (
    _BEFORE
    + r"(\+[1-9]\d{0,2}[ -]?(\(\d{1,4}\)[ -]?)?\d([ -]?\d){6,12}"
    + r"|(\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}"
    + r"|0\d{1,4}[ -]\d{3,4}[ -]?\d{3,4}"
    + r"|0[1-9]([ .]\d{2}){4})"
    + _AFTER
)
# Words of a text for the name check: anything but letters, digits, ' and - splits.
_WORD_SEPARATOR = r"[^\p{L}\p{N}'-]+"
# Characters a phone number may be written with; such a value is compared with the
# raw phones by its last 10 digits (the national number, with or without country code).
_PHONE_CHARS = r"[0-9 ()+.-]+"


class PiiLeakError(RuntimeError):
    """The file about to be published holds personal data; it is not published."""


class NothingToRollBackError(RuntimeError):
    """There is no previous published version to go back to."""


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]  # table -> row count
    previous: Path | None
    parquet: Path  # the versioned directory `$PUBLISH_DIR/parquet` now points to
    pii_reference: dict[str, int]  # names / emails / phones the file was checked against


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


def connect_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """How a BI client should open the published file: read-only, unable to read or
    attach any other file. Close it (and every other connection to the file in this
    process) and reconnect to see a newer version."""
    return duckdb.connect(str(path), read_only=True, config=READER_CONFIG)


def connect_parquet_reader(publish_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that may read files under `publish_dir` only (the Parquet
    sets). `allowed_directories` must be set before external access is switched off,
    so the settings are SQL statements in that order, not a connect() config."""
    con = duckdb.connect()
    con.execute(
        f"set allowed_directories = [{_literal(str(publish_dir.resolve()) + os.sep)}]; "
        "set enable_external_access = false; set lock_configuration = true"
    )
    return con


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's (its entries') changes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(directory: Path, name: str) -> Path:
    return directory / f".{name}.{uuid.uuid4().hex}.tmp"


@contextmanager
def _exclusive(publish_dir: Path, wait: bool) -> Iterator[None]:
    """One publish or rollback at a time per directory (the lock dies with the process)."""
    with open(publish_dir / LOCK_NAME, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise RuntimeError(
                f"{publish_dir} is busy: a publish or rollback is running; try again later"
            ) from None
        yield


def _hardlink_over(source: Path, target: Path) -> None:
    """Make `target` another name of `source`'s file, atomically."""
    link = _temp_name(target.parent, target.name)
    os.link(source, link)
    os.replace(link, target)


def _point(link: Path, target: str) -> None:
    """Make the symlink `link` point to `target`, atomically."""
    temp = _temp_name(link.parent, link.name)
    os.symlink(target, temp)
    os.replace(temp, link)


def _copy_masked(con: duckdb.DuckDBPyConnection, table: str, pii: list[str], key: str) -> None:
    found = [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'warehouse' "
            "and schema_name = 'marts' and table_name = ? order by column_index",
            [table],
        ).fetchall()
    ]
    if not found:
        raise ValueError(f"marts.{table} is not in the warehouse: build it before publishing")
    columns = [c for c in found if not c.startswith(BOOKKEEPING_PREFIX)]
    unknown = sorted(set(pii) - set(columns))
    if unknown:
        raise ValueError(f"marts.{table} has no column {unknown} marked pii in the dbt YAML")
    select = ", ".join(
        f"sha256($key || cast({_ident(c)} as varchar)) as {_ident(c)}" if c in pii else _ident(c)
        for c in columns
    )
    con.execute(
        f"create table main.{_ident(table)} as select {select} "
        f"from warehouse.marts.{_ident(table)}",
        {"key": key} if pii else None,
    )


def _words(expression: str) -> str:
    return f"trim(regexp_replace(lower({expression}), {_literal(_WORD_SEPARATOR)}, ' ', 'g'))"


def _digits(expression: str) -> str:
    return f"regexp_replace({expression}, '[^0-9]', '', 'g')"


def _union(selects: list[str]) -> str:
    return " union all ".join(selects) or "select null::varchar as v where false"


def _load_personal_reference(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    """Temp tables (never part of the file) of the customers' full names and the raw
    e-mail and phone values found in `database`'s raw and staging tables; tables that
    do not exist there are skipped."""
    present = set(
        con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = ?",
            [database],
        ).fetchall()
    )

    def source(schema: str, table: str) -> str:
        return f"{_ident(database)}.{_ident(schema)}.{_ident(table)}"

    names = _union(
        [
            f"select first_name || ' ' || last_name as v from {source(s, t)}"
            for s, t in (("staging", "stg_crm__customers"), ("raw", "crm_customers"))
            if {(s, t, "first_name"), (s, t, "last_name")} <= present
        ]
    )
    contact = {
        kind: _union(
            [
                f"select cast({_ident(column.name)} as varchar) as v from {source('raw', raw.name)}"
                for raw in SOURCES
                for column in raw.columns
                if column.identifier == kind and ("raw", raw.name, column.name) in present
            ]
        )
        for kind in ("email", "phone")
    }
    con.execute(
        "create or replace temp table pii_names as select distinct name, "
        f"split_part(name, ' ', 1) as first_word from (select {_words('v')} as name "
        f"from ({names})) where contains(name, ' ')"
    )
    con.execute(
        "create or replace temp table pii_emails as select distinct lower(trim(v)) as value "
        f"from ({contact['email']}) where contains(v, '@')"
    )
    con.execute(
        f"create or replace temp table pii_phones as select distinct right({_digits('v')}, 10) "
        f"as value from ({contact['phone']}) where length({_digits('v')}) >= 7"
    )
    return {
        kind: con.execute(f"select count(*) from pii_{kind}").fetchone()[0]
        for kind in ("names", "emails", "phones")
    }


@dataclass(frozen=True)
class PiiScan:
    leaks: list[str]  # `table.column (n rows: kinds)`
    reference: dict[str, int]  # names / emails / phones compared against


def find_pii(
    con: duckdb.DuckDBPyConnection, warehouse: str, skip: Set[tuple[str, str]] = frozenset()
) -> PiiScan:
    """Every text column of `main` (except `skip`, the hashed ones) holding an e-mail
    address or phone number, a raw e-mail or phone value, or a customer's full name
    from the attached database `warehouse`. Values are compared once per distinct
    value, and never shown: the message must not leak what it found."""
    reference = _load_personal_reference(con, warehouse)
    columns = [
        (t, c)
        for t, c in con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name = 'main' "
            "and (data_type like '%VARCHAR%' or data_type like '%JSON%' "
            "or data_type like 'ENUM%') order by table_name, column_index"
        ).fetchall()
        if (t, c) not in skip
    ]
    if not columns:
        return PiiScan([], reference)
    con.execute(
        "create or replace temp table pub_text as "
        + " union all ".join(
            f"select {_literal(t)} as tbl, {_literal(c)} as col, "
            f"cast({_ident(c)} as varchar) as val, count(*) as n "
            f"from main.{_ident(t)} where {_ident(c)} is not null group by all"
            for t, c in columns
        )
    )
    hits = con.execute(
        f"""
        with v as (
            select *, lower(trim(val)) as low, {_words("val")} as words from pub_text
        ),
        hits as (
            select tbl, col, 'e-mail address' as kind, val, n from v
            where regexp_matches(val, $email)
            union all
            select tbl, col, 'phone number', val, n from v where regexp_matches(val, $phone)
            union all
            select tbl, col, 'raw e-mail value', val, n from v
            where low in (select value from pii_emails)
            union all
            select tbl, col, 'raw phone value', val, n from v
            where regexp_full_match(val, $phone_chars)
                and length({_digits("val")}) >= 7
                and right({_digits("val")}, 10) in (select value from pii_phones)
            union all
            select distinct t.tbl, t.col, 'customer name', t.val, t.n
            from (select *, unnest(string_split(words, ' ')) as word from v
                  where contains(words, ' ')) as t
            join pii_names as p on p.first_word = t.word
            where contains(' ' || t.words || ' ', ' ' || p.name || ' ')
        ),
        per_value as (
            select tbl, col, any_value(n) as n, list(distinct kind) as kinds
            from hits group by tbl, col, val
        )
        select tbl, col, sum(n)::bigint,
            array_to_string(list_sort(list_distinct(flatten(list(kinds)))), ', ')
        from per_value group by tbl, col order by tbl, col
        """,
        {"email": EMAIL_PATTERN, "phone": PHONE_PATTERN, "phone_chars": _PHONE_CHARS},
    ).fetchall()
    con.execute("drop table pub_text")
    return PiiScan([f"{t}.{c} ({n} rows: {kinds})" for t, c, n, kinds in hits], reference)


def _new_version() -> str:
    return PARQUET_VERSION_PREFIX + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _remove_leftovers(publish_dir: Path) -> None:
    """Temp files of an interrupted publish, and Parquet sets no link points to."""
    kept = {
        os.readlink(publish_dir / link)
        for link in (PARQUET_LINK, PARQUET_PREVIOUS_LINK)
        if (publish_dir / link).is_symlink()
    }
    for path in publish_dir.iterdir():
        if _TEMP_NAME.match(path.name):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        elif path.name.startswith(PARQUET_VERSION_PREFIX) and path.name not in kept:
            shutil.rmtree(path)


def _export_parquet(con: duckdb.DuckDBPyConnection, tables: list[str], directory: Path) -> None:
    directory.mkdir()
    for table in tables:
        target = directory / f"{table}.parquet"
        con.execute(f"copy main.{_ident(table)} to {_literal(str(target))} (format parquet)")
        _fsync(target)
    _fsync(directory)


def publish_marts(
    warehouse_path: Path,
    publish_dir: Path,
    tables: dict[str, list[str]],
    key: str,
    duckdb_limits: DuckDBLimits | None = None,
) -> PublishResult:
    """Copy the allow-listed `marts` tables (table -> its pii columns) into
    `<publish_dir>/marts.duckdb` and `<publish_dir>/parquet/<table>.parquet`, masking the
    pii columns; refuse (PiiLeakError) a file still holding personal data."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(publish_dir, wait=True):
        return _publish(warehouse_path, publish_dir, tables, key, duckdb_limits)


def _publish(
    warehouse_path: Path,
    publish_dir: Path,
    tables: dict[str, list[str]],
    key: str,
    duckdb_limits: DuckDBLimits | None,
) -> PublishResult:
    _remove_leftovers(publish_dir)
    final = publish_dir / PUBLISHED_NAME
    staging_file = _temp_name(publish_dir, PUBLISHED_NAME)
    version = _new_version()
    parquet_dir = publish_dir / version
    swapped = False
    try:
        storage = {"storage_compatibility_version": PUBLISHED_STORAGE_VERSION}
        con = (
            duckdb_limits.connect(staging_file, config=storage)
            if duckdb_limits
            else duckdb.connect(str(staging_file), config=storage)
        )
        try:
            con.execute("set enable_progress_bar = false")
            con.execute(f"attach {_literal(str(warehouse_path))} as warehouse (read_only)")
            for table, pii in tables.items():
                _copy_masked(con, table, pii, key)
            counts = {
                table: con.execute(f"select count(*) from main.{_ident(table)}").fetchone()[0]
                for table in tables
            }
            scan = find_pii(con, "warehouse", {(t, c) for t, pii in tables.items() for c in pii})
            con.execute("detach warehouse")
            if scan.leaks:
                raise PiiLeakError(
                    "not published, the previous version stays: personal data found in "
                    + "; ".join(scan.leaks)
                    + " (mark the columns `meta: {pii: true}` in the marts YAML)"
                )
            con.execute("checkpoint")
            _export_parquet(con, list(tables), parquet_dir)
        finally:
            con.close()
        _fsync(staging_file)
        previous = None
        if final.exists():
            previous = publish_dir / PREVIOUS_NAME
            _hardlink_over(final, previous)
        parquet_link = publish_dir / PARQUET_LINK
        if parquet_link.is_symlink():
            _point(publish_dir / PARQUET_PREVIOUS_LINK, os.readlink(parquet_link))
        os.replace(staging_file, final)
        _point(parquet_link, version)
        swapped = True
        _fsync(publish_dir)
    finally:
        staging_file.unlink(missing_ok=True)
        if not swapped:
            shutil.rmtree(parquet_dir, ignore_errors=True)
    _remove_leftovers(publish_dir)
    return PublishResult(
        path=final,
        tables=counts,
        previous=previous,
        parquet=parquet_dir,
        pii_reference=scan.reference,
    )


def rollback(publish_dir: Path) -> Path:
    """Put the previous published version back (DuckDB file and Parquet set) and keep
    the one it replaces as the new previous: rolling back twice changes nothing."""
    if not (publish_dir / PUBLISHED_NAME).exists():
        raise NothingToRollBackError(f"nothing to roll back in {publish_dir}: nothing published")
    with _exclusive(publish_dir, wait=False):
        return _rollback(publish_dir)


def _rollback(publish_dir: Path) -> Path:
    final = publish_dir / PUBLISHED_NAME
    previous = publish_dir / PREVIOUS_NAME
    link = publish_dir / PARQUET_LINK
    previous_link = publish_dir / PARQUET_PREVIOUS_LINK
    if not previous.exists():
        raise NothingToRollBackError(
            f"nothing to roll back to in {publish_dir}: {PREVIOUS_NAME} is missing "
            "(a previous version exists only after a second successful publish)"
        )
    if link.is_symlink() != previous_link.is_symlink():
        raise NothingToRollBackError(
            f"nothing to roll back to in {publish_dir}: {PARQUET_LINK} and "
            f"{PARQUET_PREVIOUS_LINK} must both exist (the previous version was published "
            "without Parquet); restore the files by hand"
        )
    # Both names stay complete files at every moment: the current version is first
    # linked aside, the previous one put over the current name, then the aside link
    # over the previous name.
    aside = _temp_name(publish_dir, PUBLISHED_NAME)
    os.link(final, aside)
    try:
        _hardlink_over(previous, final)
        os.replace(aside, previous)
    finally:
        aside.unlink(missing_ok=True)
    if link.is_symlink():
        current_target = os.readlink(link)
        _point(link, os.readlink(previous_link))
        _point(previous_link, current_target)
    _fsync(publish_dir)
    return final
