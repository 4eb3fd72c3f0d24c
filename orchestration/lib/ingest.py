"""Landing files -> DuckDB `raw`, per the landing contract.

One call loads every new file of one source. Python does what is per file
(hash, de-duplication, gunzip, UTF-8 check, header check); DuckDB does what is
per row, for all files of the source at once (CSV record assembly, JSON
parsing, type and domain checks, inserts).

Decisions worth knowing:
- CSV is split into physical lines here and assembled into records in SQL, not
  read with `read_csv`: DuckDB 2.0's reader gives no line number per row and
  accepts an unterminated quote silently (`1,"x` loads as `"x`). Records follow
  RFC 4180, so a quoted value may span lines. A multi-line record that does not
  close, or does not come out as a well-formed row of the header's width, is
  taken apart: its first line is rejected as an unterminated quote and the
  following lines are parsed again on their own. So no line is ever swallowed:
  for every loaded text file `lines_in_file = rows_read + blank_lines +
  continuation_lines` and `rows_read = rows_loaded + rows_rejected`.
- One reject per bad row: the first failing check (record structure, then
  required/type/domain per column in contract order, then the row rules).
- Enum values compare lower-cased and trimmed, and are stored that way.
- Invalid UTF-8 bytes reject the lines that hold them (the rest of the file
  loads); a NUL byte marks a file as binary and quarantines it.
- Blank lines carry no record: they are counted in `raw._files.blank_lines`.
- Same bytes as an earlier file of the same source (any name) -> `duplicate`.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.lib.contract import SOURCES, Source, raw_table_ddl
from orchestration.lib.ingest_sql import (
    CSV_FIELDS,
    CSV_WELL_FORMED,
    _in_list,
    ident,
    lit,
    validation_sql,
)

DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SUFFIXES = {
    ".csv": ("csv", "none"),
    ".jsonl": ("jsonl", "none"),
    ".parquet": ("parquet", "none"),
    ".csv.gz": ("csv", "gzip"),
    ".jsonl.gz": ("jsonl", "gzip"),
}
# Text held in memory before a batch of files is pushed into DuckDB.
BATCH_TEXT_BYTES = 256 * 1024 * 1024
REPLACEMENT_CHAR = "\ufffd"

FILES_DDL = """create table if not exists raw._files (
    file VARCHAR, source VARCHAR, delivery_date DATE, format VARCHAR, compression VARCHAR,
    size_bytes BIGINT, sha256 VARCHAR, lines_in_file BIGINT, blank_lines BIGINT,
    continuation_lines BIGINT, rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT,
    status VARCHAR, reason VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP
)"""
REJECTS_DDL = """create table if not exists raw._rejects (
    file VARCHAR, source VARCHAR, line BIGINT, "column" VARCHAR, reason VARCHAR,
    raw_line VARCHAR, batch_id VARCHAR, rejected_at TIMESTAMP
)"""


@dataclass
class FileOutcome:
    file: str
    status: str  # loaded | duplicate | quarantined
    reason: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int


@dataclass
class IngestResult:
    source: str
    files_seen: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    files_duplicate: int = 0
    files_quarantined: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    files: list[FileOutcome] = field(default_factory=list)

    def file_rows(self) -> list[dict]:
        """Per-file outcomes as plain dicts (e.g. for a JSON metadata value)."""
        return [asdict(f) for f in self.files]


@dataclass
class _File:
    """One landing file on its way in; `status` is final unless it is `loaded`."""

    file_id: int
    rel: str
    path: Path
    delivery_date: date | None
    format: str | None
    compression: str | None
    size_bytes: int
    sha256: str
    status: str = "loaded"
    reason: str | None = None
    lines_in_file: int | None = None
    header: list[str] | None = None  # lower-cased column names, in file order
    columns: list[str] | None = None  # Parquet column names as written
    bad_utf8: bool = False

    def quarantine(self, reason: str) -> None:
        self.status, self.reason = "quarantined", reason


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Schema `raw` with every source table (empty if it has no files) and the bookkeeping."""
    con.execute("create schema if not exists raw")
    for source in SOURCES:
        con.execute(raw_table_ddl(source))
    con.execute(FILES_DDL)
    con.execute(REJECTS_DDL)


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    landing_dir: Path,
    *,
    batch_id: str,
    delivery_dates: Sequence[date] | None = None,
    reload: bool = False,
    ingested_at: datetime | None = None,
) -> IngestResult:
    """Load every file of `source` not yet in `raw._files` (only those of `delivery_dates`
    when given). `reload=True` first forgets those dates' files (raw rows, `_files`,
    `_rejects`) so they load again: re-running a date gives the same tables."""
    ensure_raw_schema(con)
    now = ingested_at or datetime.now(UTC).replace(tzinfo=None)
    landing_dir = Path(landing_dir)
    dates = set(delivery_dates) if delivery_dates is not None else None
    paths = _discover(landing_dir, source.name, dates)
    result = IngestResult(source.name, files_seen=len(paths))

    known = con.execute(
        "select file, sha256, status, delivery_date from raw._files where source = ?",
        [source.name],
    ).fetchall()
    forget = {f for f, _, _, d in known if reload and (dates is None or d in dates)}
    skip = {f for f, *_ in known} - forget
    first_by_hash = {h: f for f, h, s, _ in known if s != "duplicate" and f not in forget}

    stage = _Stage(con, source)
    try:
        pending: list[_File] = []
        texts: list[pa.Table] = []
        text_bytes = 0
        for rel, path, day in paths:
            if rel in skip:
                result.files_skipped += 1
                continue
            file_id = len(stage.files) + len(pending)
            f, table = _prepare(source, file_id, rel, path, day, first_by_hash)
            pending.append(f)
            if table is not None:
                texts.append(table)
                text_bytes += table["text"].nbytes
            if text_bytes >= BATCH_TEXT_BYTES:
                stage.add(pending, texts)
                pending, texts, text_bytes = [], [], 0
        stage.add(pending, texts)
        _commit(con, source, stage, forget, batch_id, now)
        outcomes = stage.outcomes()
    finally:
        stage.drop()

    for o in outcomes:
        result.files.append(o)
        if o.status == "loaded":
            result.files_loaded += 1
        elif o.status == "duplicate":
            result.files_duplicate += 1
        else:
            result.files_quarantined += 1
        result.rows_read += o.rows_read
        result.rows_loaded += o.rows_loaded
        result.rows_rejected += o.rows_rejected
    return result


def _discover(
    landing_dir: Path, source: str, dates: set[date] | None
) -> list[tuple[str, Path, date | None]]:
    """(path relative to the landing dir, path, delivery date) of the source's files, sorted.
    Hidden files (a name part starting with `.`, e.g. an upload in progress) are no delivery."""
    source_dir = landing_dir / source
    if not source_dir.is_dir():
        return []
    found = []
    for path in source_dir.rglob("*"):
        parts = path.relative_to(source_dir).parts
        if not path.is_file() or any(p.startswith(".") for p in parts):
            continue
        day = _parse_date(parts[0]) if len(parts) > 1 else None
        if dates is None or day in dates:
            found.append((path.relative_to(landing_dir).as_posix(), path, day))
    return sorted(found)


def _parse_date(name: str) -> date | None:
    if not DATE_DIR.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _format_of(name: str) -> tuple[str | None, str | None]:
    lower = name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return SUFFIXES[suffix]
    return None, None


def _prepare(
    source: Source,
    file_id: int,
    rel: str,
    path: Path,
    day: date | None,
    first_by_hash: dict[str, str],
) -> tuple[_File, pa.Table | None]:
    """Hash and check one file; for a loadable text file also return its data lines
    (file_id, line, text). Decides duplicate/quarantine for everything visible per file."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    fmt, compression = _format_of(path.name)
    f = _File(file_id, rel, path, day, fmt, compression, len(data), digest)
    if fmt is None:
        f.quarantine(
            f"unsupported file type {path.name!r}: expected .csv, .jsonl or .parquet"
            " (.csv.gz and .jsonl.gz when compressed)"
        )
    elif day is None:
        f.quarantine("not in a <YYYY-MM-DD> delivery folder: the delivery date is unknown")
    elif not data:
        f.quarantine("empty file (0 bytes)")
    elif digest in first_by_hash:
        f.status, f.reason = "duplicate", f"same bytes as {first_by_hash[digest]}"
        return f, None
    first_by_hash.setdefault(digest, rel)
    if f.status != "loaded":
        return f, None
    if fmt == "parquet":
        _check_parquet(f, source)
        return f, None
    return f, _text_lines(f, source, data)


def _check_parquet(f: _File, source: Source) -> None:
    try:
        meta = pq.ParquetFile(f.path)
        names = meta.schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for a file it cannot read
        f.quarantine(f"not a readable Parquet file: {exc}")
        return
    f.lines_in_file = meta.metadata.num_rows
    f.header = [n.strip().lower() for n in names]
    f.columns = names
    _check_columns(f, source, f.header, repr(names))


def _text_lines(f: _File, source: Source, data: bytes) -> pa.Table | None:
    if f.compression == "gzip":
        try:
            data = gzip.decompress(data)
        except EOFError as exc:
            f.quarantine(f"truncated gzip archive: {exc}")
            return None
        except (OSError, zlib.error) as exc:
            f.quarantine(f"not a readable gzip archive: {exc}")
            return None
    if b"\x00" in data:
        f.quarantine("binary content (NUL bytes): not a UTF-8 text file")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # The lines holding the bad bytes are rejected in SQL (they carry U+FFFD).
        text, f.bad_utf8 = data.decode("utf-8", errors="replace"), True
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline ending the last line does not start another
    if not lines:
        f.quarantine("empty file (no content)")
        return None
    first_line = 1
    if f.format == "csv":
        if not _check_header(f, source, lines[0].rstrip("\r")):
            return None
        lines, first_line = lines[1:], 2
    f.lines_in_file = len(lines)
    n = len(lines)
    return pa.table(
        {
            "file_id": pa.array(np.full(n, f.file_id, dtype=np.int32)),
            "line": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
            "text": pa.array(lines, pa.large_string()),
        }
    )


def _check_header(f: _File, source: Source, header_line: str) -> bool:
    if f.bad_utf8 and REPLACEMENT_CHAR in header_line:
        f.quarantine("the header row is not valid UTF-8")
        return False
    names = next(csv.reader([header_line]))
    header = [n.strip().lower() or f"_column_{i}" for i, n in enumerate(names, 1)]
    hint = ""
    if len(header) == 1 and any(sep in header_line for sep in ";\t|"):
        hint = " (the header is one column: is the file separated by something other than ',')"
    if not _check_columns(f, source, header, repr(header_line[:200]) + hint):
        return False
    f.header = header
    return True


def _check_columns(f: _File, source: Source, header: list[str], shown: str) -> bool:
    """Quarantine a file whose columns repeat a name or lack a required one."""
    dupes = sorted({n for n in header if header.count(n) > 1})
    if dupes:
        f.quarantine(f"duplicate column(s) {', '.join(dupes)} (names are case-insensitive)")
        return False
    missing = [c for c in source.required_columns if c not in header]
    if missing:
        f.quarantine(f"missing required column(s) {', '.join(missing)}; columns: {shown}")
        return False
    return True


class _Stage:
    """Temp tables holding the parsed and validated rows of one source's new files until
    they are committed together."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source):
        self.con, self.source = con, source
        self.files: list[_File] = []
        con.execute(
            f"create or replace temp table _ing_good as select * from raw.{source.name} limit 0"
        )
        con.execute(
            "create or replace temp table _ing_rejects"
            ' (file_id INTEGER, line BIGINT, "column" VARCHAR, reason VARCHAR, raw_line VARCHAR)'
        )
        con.execute(
            "create or replace temp table _ing_stats (file_id INTEGER, rows_read BIGINT,"
            " rows_loaded BIGINT, rows_rejected BIGINT, blank_lines BIGINT,"
            " continuation_lines BIGINT)"
        )

    def add(self, files: list[_File], texts: list[pa.Table]) -> None:
        """Parse and validate one batch of prepared files into the stage tables."""
        if not files:
            return
        self.files.extend(files)
        loadable = [f for f in files if f.status == "loaded"]
        if not loadable:
            return
        con = self.con
        con.register("_ing_files_arrow", _files_table(loadable))
        con.execute(
            "create or replace temp table _ing_batch_files as select * from _ing_files_arrow"
        )
        con.unregister("_ing_files_arrow")
        lines = pa.concat_tables(texts) if texts else None
        con.execute(
            "create or replace temp table _ing_recs (file_id INTEGER, line BIGINT,"
            " n_lines BIGINT, raw_text VARCHAR, keys VARCHAR[], vals VARCHAR[],"
            " rec_error VARCHAR, blank BOOLEAN)"
        )
        if lines is not None:
            con.register("_ing_lines_arrow", lines)
            try:
                self._csv_records()
                self._jsonl_records()
            finally:
                con.unregister("_ing_lines_arrow")
        self._parquet_records([f for f in loadable if f.format == "parquet"])
        self._not_jsonl(loadable)
        self._validate()

    def _csv_records(self) -> None:
        """CSV lines -> records. A line with an odd number of `"` opens or closes a quoted
        value spanning lines; only files holding such lines go through the record assembly,
        every other line is a record by itself."""
        con = self.con
        con.execute(
            """create or replace temp table _ing_csv_lines as
            select l.file_id, l.line, rtrim(l.text, chr(13)) as text, false as broken,
                (length(l.text) - length(replace(l.text, '"', ''))) % 2 as q
            from _ing_lines_arrow l join _ing_batch_files f using (file_id)
            where f.format = 'csv'"""
        )
        spanning = [
            r[0]
            for r in con.execute(
                "select distinct file_id from _ing_csv_lines where q = 1 order by 1"
            ).fetchall()
        ]
        con.execute(
            """create or replace temp table _ing_csv_recs as
            select file_id, line, 1::BIGINT as n_lines, text, false as unclosed,
                false as odd_quotes
            from _ing_csv_lines where not list_contains(?, file_id)""",
            [spanning],
        )
        todo = spanning
        while todo:
            in_todo = f"file_id in ({', '.join(map(str, todo))})"
            con.execute(f"delete from _ing_csv_recs where {in_todo}")
            con.execute(f"insert into _ing_csv_recs {_CSV_RECORDS.format(filter=in_todo)}")
            # Only the first failed record of a file: the parity of everything after it changes.
            bad = con.execute(
                f"""select file_id, min(r.line) from _ing_csv_recs r
                join _ing_batch_files f using (file_id)
                where {in_todo} and (r.unclosed or (r.n_lines > 1 and not (
                    regexp_full_match(r.text, {lit(CSV_WELL_FORMED)})
                    and len(regexp_extract_all(',' || r.text, {lit(CSV_FIELDS)}, 1))
                        = len(f.header))))
                group by file_id"""
            ).fetchall()
            if not bad:
                break
            # Take each failed multi-line record apart: its opening line stands alone.
            con.executemany(
                "update _ing_csv_lines set broken = true where file_id = ? and line = ?", bad
            )
            todo = [b[0] for b in bad]
        con.execute(
            f"""insert into _ing_recs
            with r as (
                select r.*, f.header, f.bad_utf8, contains(r.text, '"') as quoted
                from _ing_csv_recs r join _ing_batch_files f using (file_id)
            ), p as (
                select *,
                    not quoted or regexp_full_match(text, {lit(CSV_WELL_FORMED)}) as well_formed,
                    case when quoted
                        then list_transform(
                            regexp_extract_all(',' || text, {lit(CSV_FIELDS)}, 1),
                            lambda x: case when starts_with(x, '"')
                                then replace(substr(x, 2, length(x) - 2), '""', '"') else x end)
                        else string_split(text, ',') end as fields
                from r
            )
            select file_id, line, n_lines, text, header, fields,
                case
                    when bad_utf8 and contains(text, '{REPLACEMENT_CHAR}')
                        then 'invalid UTF-8 byte sequence (the file must be UTF-8 encoded)'
                    when unclosed or odd_quotes
                        then 'unterminated quoted field (odd number of ''"'')'
                    when not well_formed then 'malformed quoting (a ''"'' inside an unquoted'
                        || ' field, or text after a closing quote)'
                    when len(fields) <> len(header) then 'wrong number of fields: the header has '
                        || len(header) || ', this row has ' || len(fields)
                end,
                n_lines = 1 and trim(text) = ''
            from p"""
        )
        con.execute("drop table _ing_csv_lines; drop table _ing_csv_recs")

    def _jsonl_records(self) -> None:
        # A contract column holding a JSON object or array would load as its JSON text.
        nested = (
            f"list_filter(k, lambda x: lower(trim(x)) in {_in_list(self.source.column_names)}"
            """ and json_type(text, '$."' || replace(x, '"', '\\"') || '"')"""
            " in ('OBJECT', 'ARRAY'))"
        )
        self.con.execute(
            f"""insert into _ing_recs
            with l as (
                select l.file_id, l.line, regexp_replace(l.text, '\\r$', '') as text, f.bad_utf8
                from _ing_lines_arrow l join _ing_batch_files f using (file_id)
                where f.format = 'jsonl'
            ), j as (
                select *, case when json_valid(text) then json_type(text) end as jtype from l
            ), k as (
                select *, case when jtype = 'OBJECT' then json_keys(text) end as k from j
            )
            select file_id, line, 1, text,
                list_transform(k, lambda x: lower(trim(x))),
                list_transform(k, lambda x: nullif(
                    json_extract_string(text, '$."' || replace(x, '"', '\\"') || '"'), '')),
                case
                    when bad_utf8 and contains(text, '{REPLACEMENT_CHAR}')
                        then 'invalid UTF-8 byte sequence (the file must be UTF-8 encoded)'
                    when jtype is null then 'invalid JSON'
                    when jtype <> 'OBJECT' then 'not a JSON object (a JSON ' || lower(jtype) || ')'
                    when len(list_distinct(list_transform(k, lambda x: lower(trim(x)))))
                        < len(k) then 'duplicate key (keys are case-insensitive)'
                    when len({nested}) > 0 then 'a JSON object or array where a single value '
                        || 'is due: ' || array_to_string({nested}, ', ')
                end,
                trim(text) = ''
            from k"""
        )

    def _parquet_records(self, files: list[_File]) -> None:
        """All Parquet files in one statement; if that fails, file by file, quarantining
        the ones that cannot be read."""
        if not files:
            return
        selects = {f.file_id: _parquet_select(f) for f in files}
        try:
            self.con.execute("insert into _ing_recs " + " union all ".join(selects.values()))
            return
        except duckdb.Error:
            pass
        for f in files:
            try:
                self.con.execute("insert into _ing_recs " + selects[f.file_id])
            except duckdb.Error as exc:
                f.quarantine(f"not a readable Parquet file: {exc}")
                self.con.execute("delete from _ing_recs where file_id = ?", [f.file_id])

    def _not_jsonl(self, files: list[_File]) -> None:
        """A .jsonl file where no line is a JSON object is not JSON Lines: quarantine it."""
        ids = [f.file_id for f in files if f.format == "jsonl"]
        if not ids:
            return
        bad = self.con.execute(
            """select file_id, count(*) from _ing_recs
            where list_contains(?, file_id) and not blank
            group by file_id having count(*) filter (where keys is not null) = 0""",
            [ids],
        ).fetchall()
        by_id = {f.file_id: f for f in files}
        for file_id, n in bad:
            by_id[file_id].quarantine(f"not JSON Lines: none of its {n} line(s) is a JSON object")
            self.con.execute("delete from _ing_recs where file_id = ?", [file_id])

    def _validate(self) -> None:
        con, source = self.con, self.source
        quarantined = [f.file_id for f in self.files if f.status != "loaded"]
        if quarantined:
            con.execute(
                f"delete from _ing_recs where file_id in ({', '.join(map(str, quarantined))})"
            )
        con.execute(
            "create or replace temp table _ing_checked as "
            + validation_sql(
                source,
                """(select r.*, f.delivery_date as __delivery_date
                from _ing_recs r join _ing_batch_files f using (file_id)
                where r.rec_error is null and not r.blank)""",
            )
        )
        cols = ", ".join(ident(c) for c in source.column_names)
        con.execute(
            f"""insert into _ing_good
            select {cols}, __extra::JSON, f.rel, c.line, f.delivery_date, null, null
            from _ing_checked c join _ing_batch_files f using (file_id)
            where __err_reason is null"""
        )
        con.execute(
            """insert into _ing_rejects
            select file_id, line, null, rec_error, raw_text from _ing_recs
            where rec_error is not null and not blank
            union all
            select file_id, line, __err_column, __err_reason,
                raw_text
            from _ing_checked where __err_reason is not null"""
        )
        con.execute(
            """insert into _ing_stats
            select r.file_id,
                count(*) filter (where not blank),
                count(*) filter (where not blank and rec_error is null and c.__err_reason is null),
                count(*) filter (where not blank and (rec_error is not null
                    or c.__err_reason is not null)),
                count(*) filter (where blank),
                sum(n_lines - 1)
            from _ing_recs r left join _ing_checked c using (file_id, line)
            group by r.file_id"""
        )
        con.execute("drop table _ing_checked; drop table _ing_recs; drop table _ing_batch_files")

    def outcomes(self) -> list[FileOutcome]:
        stats = {
            row[0]: row[1:]
            for row in self.con.execute(
                "select file_id, rows_read, rows_loaded, rows_rejected from _ing_stats"
            ).fetchall()
        }
        return [
            FileOutcome(f.rel, f.status, f.reason, *stats.get(f.file_id, (0, 0, 0)))
            for f in self.files
        ]

    def drop(self) -> None:
        for table in ("_ing_good", "_ing_rejects", "_ing_stats"):
            self.con.execute(f"drop table if exists {table}")


_CSV_RECORDS = """
with w as (
    select *, case when broken then 0 else q end as qe from _ing_csv_lines where {filter}
), p as (
    select *, coalesce(sum(qe) over (partition by file_id order by line
        rows between unbounded preceding and 1 preceding), 0) % 2 = 1 as open_before
    from w
), r as (
    select *, sum(case when open_before then 0 else 1 end) over (partition by file_id
        order by line rows unbounded preceding) as rec
    from p
)
select file_id, min(line), count(*), string_agg(text, chr(10) order by line),
    sum(qe) % 2 = 1, sum(q) % 2 = 1
from r group by file_id, rec
"""


def _parquet_select(f: _File) -> str:
    keys = ", ".join(lit(n) for n in f.header or [])
    vals = ", ".join(f"nullif(cast({ident(n)} as VARCHAR), '')" for n in f.columns or [])
    return (
        f"select {f.file_id}::INTEGER, file_row_number + 1, 1, null::VARCHAR,"
        f" [{keys}]::VARCHAR[], [{vals}]::VARCHAR[], null::VARCHAR, false"
        f" from read_parquet({lit(str(f.path))}, file_row_number = true)"
    )


def _files_table(files: list[_File]) -> pa.Table:
    """What the SQL needs to know about a batch's loadable files."""
    return pa.table(
        {
            "file_id": pa.array([f.file_id for f in files], pa.int32()),
            "rel": pa.array([f.rel for f in files], pa.string()),
            "delivery_date": pa.array([f.delivery_date for f in files], pa.date32()),
            "format": pa.array([f.format for f in files], pa.string()),
            "header": pa.array([f.header for f in files], pa.list_(pa.string())),
            "bad_utf8": pa.array([f.bad_utf8 for f in files], pa.bool_()),
        }
    )


def _commit(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    stage: _Stage,
    forget: set[str],
    batch_id: str,
    now: datetime,
) -> None:
    """Replace the forgotten files' rows and add the staged ones, in one transaction."""
    files = pa.table(
        {
            "file_id": pa.array([f.file_id for f in stage.files], pa.int32()),
            "file": pa.array([f.rel for f in stage.files], pa.string()),
            "delivery_date": pa.array([f.delivery_date for f in stage.files], pa.date32()),
            "format": pa.array([f.format for f in stage.files], pa.string()),
            "compression": pa.array([f.compression for f in stage.files], pa.string()),
            "size_bytes": pa.array([f.size_bytes for f in stage.files], pa.int64()),
            "sha256": pa.array([f.sha256 for f in stage.files], pa.string()),
            "lines_in_file": pa.array([f.lines_in_file for f in stage.files], pa.int64()),
            "status": pa.array([f.status for f in stage.files], pa.string()),
            "reason": pa.array([f.reason for f in stage.files], pa.string()),
        }
    )
    forget_list = sorted(forget)
    con.register("_ing_all_files", files)
    con.execute("begin transaction")
    try:
        if forget_list:
            con.execute(
                f"delete from raw.{source.name} where list_contains(?, _file)", [forget_list]
            )
            con.execute(
                "delete from raw._rejects where source = ? and list_contains(?, file)",
                [source.name, forget_list],
            )
            con.execute(
                "delete from raw._files where source = ? and list_contains(?, file)",
                [source.name, forget_list],
            )
        con.execute(
            f"insert into raw.{source.name} select * replace (? as _batch_id, ? as _ingested_at)"
            " from _ing_good",
            [batch_id, now],
        )
        con.execute(
            """insert into raw._rejects
            select f.file, ?, r.line, r."column", r.reason, r.raw_line, ?, ?
            from _ing_rejects r join _ing_all_files f using (file_id)
            order by f.file, r.line""",
            [source.name, batch_id, now],
        )
        con.execute(
            """insert into raw._files
            select f.file, ?, f.delivery_date, f.format, f.compression, f.size_bytes, f.sha256,
                f.lines_in_file, coalesce(s.blank_lines, 0), coalesce(s.continuation_lines, 0),
                coalesce(s.rows_read, 0), coalesce(s.rows_loaded, 0),
                coalesce(s.rows_rejected, 0), f.status, f.reason, ?, ?
            from _ing_all_files f left join _ing_stats s using (file_id)
            order by f.file""",
            [source.name, batch_id, now],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_ing_all_files")
