"""Publishing the BI file: build a fresh DuckDB file beside the live one, then swap it in.

Layout of `$PUBLISH_DIR` (every name is replaced by an atomic rename, never rewritten):

    marts.duckdb            the published marts (BI tools open this, read-only)
    marts.previous.duckdb   the version before it, for `rollback()`
    parquet -> parquet.v<stamp>             symlink to this version's Parquet set
    parquet.previous -> parquet.v<stamp>    symlink to the previous version's set
    parquet.v<stamp>/<mart>.parquet         one directory per version, written once
    restricted/crm_keys.duckdb              published customer ids -> CRM refs (not for BI)
    restricted/crm_keys.previous.duckdb     the version before it
    .publish.lock                           held by a publish or rollback (flock)
    .publish_state.json                     what the live marts.duckdb holds (_State)

The new file is a copy of the live one when that is the file the last publish wrote:
the marts dbt keeps up to date key by key then take only the keys replaced since, the
others are copied whole again; otherwise (first publish, after a rollback) every mart
is copied whole. Both give the same content.

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
stops the publish and the previous version stays in place. Columns marked
`meta: {quasi_identifier: true}` are published as they are (the model generalises
them); a combination of them shared by fewer than k rows stops the publish too. Every
table and column carries its dbt description as a comment, and every Parquet file the
same as key-value metadata.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import uuid
from collections.abc import Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib.contract import SOURCES
from orchestration.lib.settings import DuckDBLimits, Settings
from orchestration.lib.sql import scalar

PUBLISHED_NAME = "marts.duckdb"
# The CRM team's key from published customer ids back to CRM refs: a directory and file
# only the pipeline's account can open (0700 / 0600), to be shared with the people
# allowed to re-identify customers, never with BI tools.
RESTRICTED_DIR = "restricted"
CRM_KEYS_NAME = "crm_keys.duckdb"
CRM_KEYS_PREVIOUS_NAME = "crm_keys.previous.duckdb"
CRM_KEYS_TABLE = "customer_crm_refs"
PREVIOUS_NAME = "marts.previous.duckdb"
PARQUET_LINK = "parquet"
PARQUET_PREVIOUS_LINK = "parquet.previous"
PARQUET_VERSION_PREFIX = "parquet.v"
LOCK_NAME = ".publish.lock"
STATE_NAME = ".publish_state.json"  # what the live file holds (see _State)
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


def mart_nodes(manifest: dict) -> list[dict]:
    """The models a dbt manifest builds in the `marts` schema, by name."""
    return [
        node
        for node in sorted(manifest["nodes"].values(), key=lambda n: n["name"])
        if node["resource_type"] == "model" and node["schema"] == "marts"
    ]


def marts_to_publish(manifest: dict) -> dict[str, PublishedMart]:
    """Every mart of a dbt manifest, with its columns marked `meta: {pii: true}` (the
    publish step masks those) and `meta: {quasi_identifier: true}` (it checks their
    k-anonymity), and the descriptions of the model and its columns."""

    def marked(node: dict, flag: str) -> tuple[str, ...]:
        return tuple(sorted(n for n, column in node["columns"].items() if column["meta"].get(flag)))

    return {
        node["name"]: PublishedMart(
            pii=marked(node, "pii"),
            quasi_identifiers=marked(node, "quasi_identifier"),
            description=node["description"].strip(),
            column_descriptions={
                name: column["description"].strip() for name, column in node["columns"].items()
            },
        )
        for node in mart_nodes(manifest)
    }


class PiiLeakError(RuntimeError):
    """The file about to be published holds personal data; it is not published."""


class KAnonymityError(PiiLeakError):
    """A combination of a mart's quasi-identifiers is shared by fewer than k rows, so the
    file could single people out; it is not published."""


@dataclass(frozen=True)
class PublishedMart:
    """How one mart is published, from its dbt YAML: the columns marked `meta: {pii:
    true}` (direct identifiers: keyed-hashed) and `meta: {quasi_identifier: true}`
    (published as they are, generalised by the model; every combination of them must
    be shared by at least k rows, one row per person)."""

    pii: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    # the model's and its columns' descriptions: comments in the file, Parquet metadata
    description: str = ""
    column_descriptions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if both := sorted(set(self.pii) & set(self.quasi_identifiers)):
            raise ValueError(f"column(s) {both} are marked both pii and quasi_identifier")


class NothingToRollBackError(RuntimeError):
    """There is no previous published version to go back to."""


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]  # table -> row count
    previous: Path | None
    parquet: Path  # the versioned directory `$PUBLISH_DIR/parquet` now points to
    pii_reference: dict[str, int]  # names / emails / phones the file was checked against
    tables_by_key: list[str] = field(default_factory=list)  # updated by key, not copied whole


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


def _published_columns(con: duckdb.DuckDBPyConnection, table: str, pii: list[str]) -> list[str]:
    """The warehouse mart's columns that are published (its bookkeeping left out)."""
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
    unknown = sorted(set(pii) - set(found))
    if unknown:
        raise ValueError(f"marts.{table} has no column {unknown} marked pii in the dbt YAML")
    return [c for c in found if not c.startswith(BOOKKEEPING_PREFIX)]


def _mask(column: str, pii: list[str]) -> str:
    """A column as published: personal data replaced by a keyed hash (parameter $key)."""
    quoted = _ident(column)
    return f"sha256($key || cast({quoted} as varchar))" if column in pii else quoted


def _masked_select(con: duckdb.DuckDBPyConnection, table: str, pii: list[str]) -> str:
    select = ", ".join(
        f"{_mask(c, pii)} as {_ident(c)}" for c in _published_columns(con, table, pii)
    )
    return f"select {select} from warehouse.marts.{_ident(table)}"


HASHED_NOTE = "Published as a keyed SHA-256 hash (hex): joins across marts, not reversible."


def _describe(con: duckdb.DuckDBPyConnection, table: str, mart: PublishedMart) -> None:
    """The mart's dbt descriptions as comments on the copy's table and columns (a masked
    column's says so)."""
    con.execute(f"comment on table main.{_ident(table)} is {_literal(mart.description)}")
    for (column,) in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'main' and table_name = ? order by column_index",
        [table],
    ).fetchall():
        text = mart.column_descriptions.get(column, "")
        if column in mart.pii:
            text = f"{text} {HASHED_NOTE}".strip()
        con.execute(f"comment on column main.{_ident(table)}.{_ident(column)} is {_literal(text)}")


def _copy_masked(con: duckdb.DuckDBPyConnection, table: str, pii: list[str], key: str) -> None:
    con.execute(
        f"create table main.{_ident(table)} as {_masked_select(con, table, pii)}",
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


def k_anonymity_violations(
    con: duckdb.DuckDBPyConnection, tables: dict[str, PublishedMart], k: int
) -> list[str]:
    """Per table of `main` with quasi-identifiers: the groups of rows sharing a
    combination of them that have fewer than `k` rows, counted, with the smallest as an
    example (the operator needs to see which combination to generalise)."""
    problems = []
    for table, mart in tables.items():
        if not mart.quasi_identifiers:
            continue
        described = con.execute(f"describe main.{_ident(table)}").fetchall()
        present = {row[0] for row in described}
        if missing := sorted(set(mart.quasi_identifiers) - present):
            raise ValueError(f"{table} has no column {missing} marked quasi_identifier")
        columns = ", ".join(_ident(c) for c in mart.quasi_identifiers)
        small = con.execute(
            f"select {columns}, count(*) as n from main.{_ident(table)} group by all "
            f"having count(*) < $k order by n, {columns}",
            {"k": k},
        ).fetchall()
        if small:
            *smallest, size = small[0]
            values = ", ".join(
                f"{c}={v}" for c, v in zip(mart.quasi_identifiers, smallest, strict=True)
            )
            problems.append(
                f"{table}: {len(small)} group(s) of ({', '.join(mart.quasi_identifiers)}) "
                f"have fewer than {k} rows ({sum(row[-1] for row in small)} rows in all; "
                f"the smallest, {size} row(s): {values})"
            )
    return problems


def _write_crm_keys(
    con: duckdb.DuckDBPyConnection, path: Path, customer_id_pii: tuple[str, ...], key: str
) -> None:
    """The CRM key file at `path`: each published customer's id as dim_customers
    publishes it, with each of its CRM refs."""
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.parent.chmod(0o700)
    con.execute(
        f"attach {_literal(str(path))} as crm_keys "
        f"(storage_version {_literal(PUBLISHED_STORAGE_VERSION)})"
    )
    path.chmod(0o600)
    try:
        con.execute(
            f"""
            create table crm_keys.{CRM_KEYS_TABLE} as
            select {_mask("customer_id", customer_id_pii)} as customer_id,
                identifier_value as customer_ref
            from warehouse.identity.customer_identifiers
            where identifier_type = 'crm'
                and customer_id in (select customer_id from warehouse.marts.dim_customers)
            order by all
            """,
            {"key": key} if customer_id_pii else None,
        )
        con.execute(
            f"comment on table crm_keys.{CRM_KEYS_TABLE} is "
            + _literal(
                "RESTRICTED: re-identifies customers. One row per published customer_id "
                "(marts.duckdb) and CRM customer_ref. Share with the CRM team only."
            )
        )
    finally:
        con.execute("detach crm_keys")
    _fsync(path)


def _swap_in(new: Path, final: Path, previous: Path) -> None:
    """`new` becomes `final`, the file it replaces `previous` (each atomically)."""
    if final.exists():
        _hardlink_over(final, previous)
    os.replace(new, final)
    _fsync(final.parent)


def _new_version() -> str:
    return PARQUET_VERSION_PREFIX + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _remove_leftovers(publish_dir: Path) -> None:
    """Temp files of an interrupted publish, and Parquet sets no link points to."""
    kept = {
        os.readlink(publish_dir / link)
        for link in (PARQUET_LINK, PARQUET_PREVIOUS_LINK)
        if (publish_dir / link).is_symlink()
    }
    restricted = publish_dir / RESTRICTED_DIR
    for path in [*publish_dir.iterdir(), *(restricted.iterdir() if restricted.is_dir() else ())]:
        if _TEMP_NAME.match(path.name):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        elif path.name.startswith(PARQUET_VERSION_PREFIX) and path.name not in kept:
            shutil.rmtree(path)


def _parquet_metadata(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The table's and its columns' comments as a Parquet key-value metadata literal:
    `description`, and `column:<name>` per column."""
    comments = con.execute(
        """
        select 'description', comment, -1 as position from duckdb_tables()
        where database_name = current_database() and schema_name = 'main' and table_name = $t
        union all
        select 'column:' || column_name, comment, column_index from duckdb_columns()
        where database_name = current_database() and schema_name = 'main' and table_name = $t
        order by position
        """,
        {"t": table},
    ).fetchall()
    pairs = ", ".join(f"{_literal(k)}: {_literal(v or '')}" for k, v, _ in comments)
    return "{" + pairs + "}"


def _export_parquet(con: duckdb.DuckDBPyConnection, tables: list[str], directory: Path) -> None:
    """One Parquet file per table, carrying its comments as key-value metadata."""
    directory.mkdir()
    for table in tables:
        target = directory / f"{table}.parquet"
        con.execute(
            f"copy main.{_ident(table)} to {_literal(str(target))} "
            f"(format parquet, kv_metadata {_parquet_metadata(con, table)})"
        )
        _fsync(target)
    _fsync(directory)


def publish_marts(
    warehouse_path: Path,
    publish_dir: Path,
    tables: dict[str, PublishedMart],
    key: str,
    duckdb_limits: DuckDBLimits | None = None,
    replace_keys: dict[str, str] | None = None,
    k_anonymity: int = Settings.k_anonymity,
    crm_keys: bool = False,
) -> PublishResult:
    """Copy the allow-listed `marts` tables into `<publish_dir>/marts.duckdb` and
    `<publish_dir>/parquet/<table>.parquet`, masking their pii columns; refuse
    (PiiLeakError) a file still holding personal data, and (KAnonymityError) one in
    which a combination of a table's quasi-identifiers is shared by fewer than
    `k_anonymity` rows.

    `replace_keys` names the marts the warehouse keeps up to date key by key (table ->
    the key column of its `replace_keys` strategy). When the published file is the one
    the last publish wrote, the new one starts as a copy of it and these tables take
    only the keys replaced since (`_changed_at`) and lose the keys the warehouse no
    longer has; every other table is copied whole. A rolled-back file, a rebuilt table or
    a changed schema makes the table, or the file, copied whole again (the same content
    either way).

    `crm_keys`: also write `restricted/crm_keys.duckdb`, the published `customer_id` of
    every customer of `dim_customers` with its CRM refs (identity.customer_identifiers),
    swapped in with the marts."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(publish_dir, wait=True):
        return _publish(
            warehouse_path,
            publish_dir,
            tables,
            key,
            duckdb_limits,
            replace_keys or {},
            k_anonymity,
            crm_keys,
        )


@dataclass(frozen=True)
class _State:
    """What the live published file holds, written after each publish: the file's
    identity, the size of the last file written whole, and per table copied by key
    the newest `_changed_at` it holds."""

    file: tuple[int, int, int]  # inode, size, mtime (ns)
    full_size: int
    changed_until: dict[str, str]  # table -> ISO timestamp


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _usable_state(publish_dir: Path, final: Path) -> _State | None:
    """The state of the live file, if it still describes it (not rolled back, not
    replaced by hand) and the file has not grown to twice the size of a whole copy."""
    path = publish_dir / STATE_NAME
    if not (path.exists() and final.exists()):
        return None
    try:
        raw = json.loads(path.read_text())
        state = _State(tuple(raw["file"]), int(raw["full_size"]), dict(raw["changed_until"]))
    except (ValueError, KeyError, TypeError):
        return None
    if state.file != _identity(final) or state.file[1] > 2 * state.full_size:
        return None
    return state


def _write_state(publish_dir: Path, final: Path, full_size: int, changed_until: dict) -> None:
    state = {"file": list(_identity(final)), "full_size": full_size, "changed_until": changed_until}
    temp = _temp_name(publish_dir, STATE_NAME)
    temp.write_text(json.dumps(state, sort_keys=True))
    os.replace(temp, publish_dir / STATE_NAME)


def _table_exists(con: duckdb.DuckDBPyConnection, table: str, in_warehouse: bool) -> bool:
    """Whether `table` is a mart of the attached warehouse, or a table of the new file."""
    where = "database_name = 'warehouse' and schema_name = 'marts'"
    if not in_warehouse:
        where = "database_name = current_database() and schema_name = 'main'"
    return bool(
        scalar(
            con, f"select count(*) from duckdb_tables() where {where} and table_name = ?", [table]
        )
    )


def _by_key_since(
    con: duckdb.DuckDBPyConnection, table: str, pii: list[str], since: str | None
) -> bool:
    """Whether the copy's `table` can be brought up to date by the keys replaced in the
    warehouse after `since`: it has the columns it is published with, and the warehouse
    table has not been rebuilt since (its oldest row is older)."""
    if since is None or not _table_exists(con, table, in_warehouse=False):
        return False
    wanted = con.execute(
        f"describe {_masked_select(con, table, pii)}", {"key": ""} if pii else None
    ).fetchall()
    if con.execute(f"describe main.{_ident(table)}").fetchall() != wanted:
        return False
    oldest = scalar(con, f"select min(_changed_at) from warehouse.marts.{_ident(table)}")
    return oldest is None or oldest <= datetime.fromisoformat(since)


def _update_by_key(
    con: duckdb.DuckDBPyConnection, table: str, pii: list[str], key: str, since: str, hash_key: str
) -> None:
    """Replace, in the copy, the rows of every key the warehouse replaced after `since`,
    and drop the keys it no longer has (merged away, redacted), as `replace_keys` did in
    the warehouse. The removed keys are found by comparing the two tables' keys, not
    kept anywhere: a forgotten person's old key leaves no trace."""
    source = f"warehouse.marts.{_ident(table)}"
    published_key = _mask(key, pii)
    params = {"key": hash_key} if key in pii else None
    con.execute(
        f"create or replace temp table pub_keys as select distinct {_ident(key)} as key "
        f"from {source} where _changed_at > $since",
        {"since": since},
    )
    con.execute(
        f"delete from main.{_ident(table)} where {_ident(key)} in ("
        f"select {_mask('key', ['key'] if key in pii else [])} from pub_keys "
        f"union all (select {_ident(key)} from main.{_ident(table)} "
        f"except select {published_key} from {source}))",
        params,
    )
    con.execute(
        f"insert into main.{_ident(table)} {_masked_select(con, table, pii)} "
        f"where {_ident(key)} in (select key from pub_keys)",
        {"key": hash_key} if pii else None,
    )
    con.execute("drop table pub_keys")


def _publish(
    warehouse_path: Path,
    publish_dir: Path,
    tables: dict[str, PublishedMart],
    key: str,
    duckdb_limits: DuckDBLimits | None,
    replace_keys: dict[str, str],
    k_anonymity: int,
    crm_keys: bool,
) -> PublishResult:
    _remove_leftovers(publish_dir)
    final = publish_dir / PUBLISHED_NAME
    staging_file = _temp_name(publish_dir, PUBLISHED_NAME)
    restricted = publish_dir / RESTRICTED_DIR
    keys_file = _temp_name(restricted, CRM_KEYS_NAME) if crm_keys else None
    version = _new_version()
    parquet_dir = publish_dir / version
    state = _usable_state(publish_dir, final)
    swapped = False
    try:
        if state:
            shutil.copyfile(final, staging_file)
        storage = {"storage_compatibility_version": PUBLISHED_STORAGE_VERSION}
        con = (
            duckdb_limits.connect(staging_file, config=storage)
            if duckdb_limits
            else duckdb.connect(str(staging_file), config=storage)
        )
        try:
            con.execute("set enable_progress_bar = false")
            con.execute(f"attach {_literal(str(warehouse_path))} as warehouse (read_only)")
            by_key = {
                table: state.changed_until[table]
                for table in replace_keys
                if state
                and table in tables
                and _by_key_since(con, table, tables[table].pii, state.changed_until.get(table))
            }
            # The rest is copied whole: dropped first, so that the new copies reuse
            # the space of the old ones.
            for (table,) in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database()"
            ).fetchall():
                if table not in by_key:
                    con.execute(f"drop table main.{_ident(table)}")
            con.execute("checkpoint")
            changed_until = {
                table: scalar(con, f"select max(_changed_at) from warehouse.marts.{_ident(table)}")
                for table in replace_keys
                if table in tables
            }
            for table, mart in tables.items():
                if table in by_key:
                    _update_by_key(con, table, mart.pii, replace_keys[table], by_key[table], key)
                else:
                    _copy_masked(con, table, mart.pii, key)
                _describe(con, table, mart)
            counts = {
                table: con.execute(f"select count(*) from main.{_ident(table)}").fetchone()[0]
                for table in tables
            }
            hashed = {(t, c) for t, mart in tables.items() for c in mart.pii}
            scan = find_pii(con, "warehouse", hashed)
            if keys_file:
                _write_crm_keys(con, keys_file, tables["dim_customers"].pii, key)
            con.execute("detach warehouse")
            if scan.leaks:
                raise PiiLeakError(
                    "not published, the previous version stays: personal data found in "
                    + "; ".join(scan.leaks)
                    + " (mark the columns `meta: {pii: true}` in the marts YAML)"
                )
            if small_groups := k_anonymity_violations(con, tables, k_anonymity):
                raise KAnonymityError(
                    "not published, the previous version stays: "
                    + "; ".join(small_groups)
                    + " (generalise them further in the model)"
                )
            con.execute("checkpoint")
            _export_parquet(con, list(tables), parquet_dir)
        finally:
            con.close()
        _fsync(staging_file)
        previous = publish_dir / PREVIOUS_NAME if final.exists() else None
        parquet_link = publish_dir / PARQUET_LINK
        if parquet_link.is_symlink():
            _point(publish_dir / PARQUET_PREVIOUS_LINK, os.readlink(parquet_link))
        _swap_in(staging_file, final, publish_dir / PREVIOUS_NAME)
        _point(parquet_link, version)
        if keys_file:
            _swap_in(keys_file, restricted / CRM_KEYS_NAME, restricted / CRM_KEYS_PREVIOUS_NAME)
        swapped = True
        _fsync(publish_dir)
    finally:
        staging_file.unlink(missing_ok=True)
        if keys_file:
            keys_file.unlink(missing_ok=True)
        if not swapped:
            shutil.rmtree(parquet_dir, ignore_errors=True)
    _write_state(
        publish_dir,
        final,
        state.full_size if state else final.stat().st_size,
        {t: w.isoformat() for t, w in changed_until.items() if w is not None},
    )
    _remove_leftovers(publish_dir)
    return PublishResult(
        path=final,
        tables=counts,
        previous=previous,
        parquet=parquet_dir,
        pii_reference=scan.reference,
        tables_by_key=sorted(by_key),
    )


def _swap_files(current: Path, previous: Path) -> None:
    """Exchange two files' names. Both names stay complete files at every moment: the
    current version is first linked aside, the previous one put over the current name,
    then the aside link over the previous name."""
    aside = _temp_name(current.parent, current.name)
    os.link(current, aside)
    try:
        _hardlink_over(previous, current)
        os.replace(aside, previous)
    finally:
        aside.unlink(missing_ok=True)
    _fsync(current.parent)


def rollback(publish_dir: Path) -> Path:
    """Put the previous published version back (DuckDB file, Parquet set and CRM key
    file) and keep the one it replaces as the new previous: rolling back twice changes
    nothing."""
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
    _swap_files(final, previous)
    if link.is_symlink():
        current_target = os.readlink(link)
        _point(link, os.readlink(previous_link))
        _point(previous_link, current_target)
    _fsync(publish_dir)
    keys = publish_dir / RESTRICTED_DIR / CRM_KEYS_NAME
    previous_keys = keys.with_name(CRM_KEYS_PREVIOUS_NAME)
    if keys.exists() and previous_keys.exists():
        _swap_files(keys, previous_keys)
    return final
