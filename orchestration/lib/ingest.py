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
- Discovery never follows a path out of the landing directory and never opens what
  is not a regular file: hidden and temporary files are `skipped`, links resolving
  outside, links to folders and pipes/devices are recorded with their reason, never read.
- Limits (`IngestLimits`): a file larger than `max_file_bytes`, stored or once
  decompressed, is quarantined without being held whole in memory; a line or record
  over `max_line_bytes` is rejected. Lines are found in the file's bytes with NumPy
  and handed to DuckDB as one Arrow array over those bytes (no copy per line);
  DuckDB checks UTF-8 per line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
import stat
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
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
from orchestration.lib.phones import ensure_phone_lookup
from orchestration.lib.settings import IngestLimits

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
# Bytes read (hashing, gunzip) and scanned for line breaks at a time.
READ_CHUNK = 1024 * 1024
SCAN_CHUNK = 64 * 1024 * 1024
# How much of a rejected record `raw._rejects.raw_line` keeps (`raw_line_bytes` has its size).
REJECT_LINE_CHARS = 4096
UTF8_BOM = b"\xef\xbb\xbf"
# Names of files still being written by their sender.
PARTIAL_SUFFIXES = (".tmp", ".part")

FILES_DDL = """create table if not exists raw._files (
    file VARCHAR, source VARCHAR, delivery_date DATE, format VARCHAR, compression VARCHAR,
    size_bytes BIGINT, sha256 VARCHAR, lines_in_file BIGINT, blank_lines BIGINT,
    continuation_lines BIGINT, rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT,
    status VARCHAR, reason VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP
)"""
REJECTS_DDL = """create table if not exists raw._rejects (
    file VARCHAR, source VARCHAR, line BIGINT, "column" VARCHAR, reason VARCHAR,
    raw_line VARCHAR, batch_id VARCHAR, rejected_at TIMESTAMP, raw_line_bytes BIGINT
)"""
# Warehouses created before raw_line was cut to a prefix.
REJECTS_MIGRATION = "alter table raw._rejects add column if not exists raw_line_bytes BIGINT"


@dataclass
class FileOutcome:
    file: str
    status: str  # loaded | duplicate | quarantined | skipped
    reason: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int


@dataclass
class IngestResult:
    source: str
    files_seen: int = 0
    files_loaded: int = 0
    files_known: int = 0  # recorded in raw._files by an earlier run: not read again
    files_duplicate: int = 0
    files_quarantined: int = 0
    files_skipped: int = 0  # not a delivery: hidden, still being written, a link to a folder
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
    size_bytes: int | None
    sha256: str | None = None
    status: str = "loaded"
    reason: str | None = None
    lines_in_file: int | None = None
    header: list[str] | None = None  # lower-cased column names, in file order
    columns: list[str] | None = None  # Parquet column names as written

    def quarantine(self, reason: str) -> None:
        self.status, self.reason = "quarantined", reason


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Schema `raw` with every source table (empty if it has no files) and the bookkeeping,
    and the phone lookup that staging reads beside raw (lib/phones)."""
    con.execute("create schema if not exists raw")
    for source in SOURCES:
        con.execute(raw_table_ddl(source))
    con.execute(FILES_DDL)
    con.execute(REJECTS_DDL)
    con.execute(REJECTS_MIGRATION)
    ensure_phone_lookup(con)


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    landing_dir: Path,
    *,
    batch_id: str,
    delivery_dates: Sequence[date] | None = None,
    reload: bool = False,
    ingested_at: datetime | None = None,
    limits: IngestLimits | None = None,
) -> IngestResult:
    """Load every file of `source` not yet in `raw._files`, and again every file whose size
    differs from the one recorded (a corrected file delivered under the same name), only
    those of `delivery_dates` when given. `reload=True` first forgets those dates' files
    (raw rows, `_files`, `_rejects`) so they load again: re-running a date gives the
    same tables."""
    ensure_raw_schema(con)
    limits = limits or IngestLimits()
    now = ingested_at or datetime.now(UTC).replace(tzinfo=None)
    dates = set(delivery_dates) if delivery_dates is not None else None
    entries = _discover(Path(landing_dir), source.name, dates)
    result = IngestResult(source.name, files_seen=len(entries))

    known = con.execute(
        "select file, sha256, status, delivery_date, size_bytes from raw._files where source = ?",
        [source.name],
    ).fetchall()
    forget = {f for f, _, _, d, _ in known if reload and (dates is None or d in dates)}
    recorded_size = {f: size for f, *_, size in known if size is not None}
    forget |= {
        e.rel
        for e in entries
        if e.not_read is None and recorded_size.get(e.rel, e.size_bytes) != e.size_bytes
    }
    skip = {f for f, *_ in known} - forget
    first_by_hash = {h: f for f, h, s, *_ in known if h and s != "duplicate" and f not in forget}

    stage = _Stage(con, source, limits)
    try:
        pending: list[_File] = []
        texts: list[pa.Table] = []
        text_bytes = 0
        for entry in entries:
            if entry.rel in skip:
                result.files_known += 1
                continue
            file_id = len(stage.files) + len(pending)
            f, table = _prepare(source, file_id, entry, first_by_hash, limits)
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

    counters = {
        "loaded": "files_loaded",
        "duplicate": "files_duplicate",
        "quarantined": "files_quarantined",
        "skipped": "files_skipped",
    }
    for o in outcomes:
        result.files.append(o)
        counter = counters[o.status]
        setattr(result, counter, getattr(result, counter) + 1)
        result.rows_read += o.rows_read
        result.rows_loaded += o.rows_loaded
        result.rows_rejected += o.rows_rejected
    return result


def blocking_quarantines(
    con: duckdb.DuckDBPyConnection, source: str, rule: str, as_of: date
) -> list[tuple[str, str]]:
    """(file, reason) of the source's quarantined files that hold the run back under
    `rule` (see settings.QUARANTINE_RULES): those of the as-of date's delivery
    (`tonight`), of any delivery (`any`), or none (`never`)."""
    if rule == "never":
        return []
    return con.execute(
        "select file, reason from raw._files where source = ? and status = 'quarantined'"
        " and (? or delivery_date = ?) order by file",
        [source, rule == "any", as_of],
    ).fetchall()


@dataclass(frozen=True)
class _Entry:
    """Something found in a source's landing folder: a file to read, or what is recorded
    instead of reading it (`not_read` = status and reason)."""

    rel: str  # path relative to the landing dir, as delivered
    path: Path  # what is read: the file, or the target of a link inside the landing dir
    day: date | None
    size_bytes: int | None
    not_read: tuple[str, str] | None = None


def _discover(landing_dir: Path, source: str, dates: set[date] | None) -> list[_Entry]:
    """Every entry under `<landing_dir>/<source>/`, sorted by path, of `dates` when given.
    Links are resolved, never followed out of the landing directory, and folders are
    entered only as themselves (a link to a folder is recorded, not followed)."""
    landing_dir = landing_dir.resolve()
    source_dir = landing_dir / source
    found: list[_Entry] = []
    if source_dir.is_symlink():
        found.append(_entry(landing_dir, source_dir, False))
    elif source_dir.is_dir():
        _walk(landing_dir, source_dir, found)
    return sorted((e for e in found if dates is None or e.day in dates), key=lambda e: e.rel)


def _walk(landing_dir: Path, directory: Path, found: list[_Entry]) -> None:
    try:
        children = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        found.append(_entry(landing_dir, directory, True, f"cannot be listed: {exc.strerror}"))
        return
    for child in children:
        path = Path(child.path)
        if child.is_dir(follow_symlinks=False) and not child.name.startswith("."):
            _walk(landing_dir, path, found)
        else:
            found.append(_entry(landing_dir, path, child.is_dir(follow_symlinks=False)))


def _entry(landing_dir: Path, path: Path, is_dir: bool, problem: str | None = None) -> _Entry:
    rel = path.relative_to(landing_dir)
    parts = rel.parts[1:]  # below the source folder
    # A file's delivery date is the folder it is in; a folder recorded as one entry
    # (hidden, a link) may be the delivery folder itself.
    is_day_folder = len(parts) == 1 and (is_dir or path.is_symlink())
    day = _parse_date(parts[0]) if parts and (len(parts) > 1 or is_day_folder) else None

    def entry(status: str | None, reason: str | None, target: Path = path, size=None):
        not_read = (status, reason) if status else None
        return _Entry(rel.as_posix(), target, day, size, not_read)

    if problem:
        return entry("quarantined", f"a folder that {problem}")
    try:
        info = path.lstat()
    except OSError as exc:
        return entry("quarantined", f"cannot be read: {exc.strerror}")
    what = "folder" if is_dir else "file"
    if path.name.startswith("."):
        return entry(
            "skipped",
            f"a hidden {what} (its name starts with '.'): not a delivery, not read",
            size=None if is_dir else info.st_size,
        )
    if stat.S_ISLNK(info.st_mode):
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(landing_dir):
            return entry(
                "quarantined",
                "a symbolic link that resolves outside the landing directory: not read",
            )
        if target.is_dir():
            return entry(
                "skipped",
                "a symbolic link to a folder: links to folders are not followed (its files "
                "are read where they are, if they are in the landing directory)",
            )
        if not target.is_file():
            return entry("quarantined", "a symbolic link to nothing or to a special file")
        path, info = target, target.stat()
    elif not stat.S_ISREG(info.st_mode):
        return entry("quarantined", f"not a regular file but {_file_kind(info.st_mode)}")
    if rel.name.lower().endswith(PARTIAL_SUFFIXES):
        return entry(
            "skipped",
            "still being written (*.tmp, *.part): not a delivery yet, not read",
            size=info.st_size,
        )
    return entry(None, None, target=path, size=info.st_size)


def _file_kind(mode: int) -> str:
    kinds = {
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((name for test, name in kinds.items() if test(mode)), "a special file")


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


def _read(path: Path, limit: int) -> tuple[bytes | None, int, str | None, str | None]:
    """(the file's bytes or None, its size, its sha256, why it was not read whole). A file
    over `limit` is hashed chunk by chunk, never held; a file that is no longer a regular
    file (swapped for a link or a pipe since discovery) is not read at all."""
    digest = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return None, 0, None, f"cannot be opened: {exc.strerror}"
    with os.fdopen(fd, "rb") as handle:  # buffered: read(n) returns n bytes unless at the end
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, info.st_size, None, "changed into a special file while being read"
        size = 0
        if info.st_size <= limit:  # (a file still growing is caught by the length read)
            data = handle.read(limit + 1)
            digest.update(data)
            if len(data) <= limit:
                return data, len(data), digest.hexdigest(), None
            size = len(data)
            del data
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return None, size, digest.hexdigest(), _over_limit(f"is {size:,} bytes, more than", limit)


def _over_limit(what: str, limit: int) -> str:
    return f"{what} INGEST_MAX_FILE_BYTES ({limit:,} bytes): not loaded"


def _gunzip(data: bytes, limit: int) -> bytearray | str:
    """The decompressed bytes, or why there are none. Decompression stops as soon as the
    output passes `limit`: a small archive of a huge file costs no more than the limit."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as archive:
            while chunk := archive.read(READ_CHUNK):
                out += chunk
                if len(out) > limit:
                    return _over_limit("decompresses to more than", limit)
    except EOFError as exc:
        return f"truncated gzip archive: {exc}"
    except (OSError, zlib.error) as exc:
        return f"not a readable gzip archive: {exc}"
    return out


def _prepare(
    source: Source,
    file_id: int,
    entry: _Entry,
    first_by_hash: dict[str, str],
    limits: IngestLimits,
) -> tuple[_File, pa.Table | None]:
    """Hash and check one file; for a loadable text file also return its data lines
    (file_id, line, text, n_bytes, oversize). Decides duplicate/quarantine/skip for
    everything visible per file."""
    fmt, compression = _format_of(entry.rel)
    if entry.not_read:
        f = _File(file_id, entry.rel, entry.path, entry.day, fmt, compression, entry.size_bytes)
        f.status, f.reason = entry.not_read
        return f, None
    data, size, digest, problem = _read(entry.path, limits.max_file_bytes)
    f = _File(file_id, entry.rel, entry.path, entry.day, fmt, compression, size, digest)
    if fmt is None:
        f.quarantine(
            f"unsupported file type {entry.path.name!r}: expected .csv, .jsonl or .parquet"
            " (.csv.gz and .jsonl.gz when compressed)"
        )
    elif problem:
        f.quarantine(problem)
    elif entry.day is None:
        f.quarantine("not in a <YYYY-MM-DD> delivery folder: the delivery date is unknown")
    elif not data:
        f.quarantine("empty file (0 bytes)")
    elif digest in first_by_hash:
        f.status, f.reason = "duplicate", f"same bytes as {first_by_hash[digest]}"
        return f, None
    if digest:
        first_by_hash.setdefault(digest, entry.rel)
    if f.status != "loaded":
        return f, None
    if fmt == "parquet":
        _check_parquet(f, source, limits)
        return f, None
    if compression == "gzip":
        data = _gunzip(data, limits.max_file_bytes)
        if isinstance(data, str):
            f.quarantine(data)
            return f, None
    return f, _text_lines(f, source, data, limits)


def _check_parquet(f: _File, source: Source, limits: IngestLimits) -> None:
    try:
        meta = pq.ParquetFile(f.path)
        names = meta.schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for a file it cannot read
        f.quarantine(f"not a readable Parquet file: {exc}")
        return
    expanded = sum(meta.metadata.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if expanded > limits.max_file_bytes:
        f.quarantine(
            _over_limit(f"holds {expanded:,} bytes uncompressed, more than", limits.max_file_bytes)
        )
        return
    f.lines_in_file = meta.metadata.num_rows
    f.header = [n.strip().lower() for n in names]
    f.columns = names
    _check_columns(f, source, f.header, repr(names[:20]))


def _line_starts(data: bytes | bytearray, start: int) -> np.ndarray:
    """Offsets where each line begins, then the end of the data: line i is
    data[offsets[i]:offsets[i + 1]], its line break included."""
    view = np.frombuffer(data, dtype=np.uint8)
    breaks = [
        np.flatnonzero(view[i : i + SCAN_CHUNK] == 10) + (i + 1)
        for i in range(start, len(view), SCAN_CHUNK)
    ]
    offsets = np.concatenate([np.array([start], np.int64), *breaks]).astype(np.int64)
    if offsets[-1] != len(view):  # the last line has no line break
        offsets = np.append(offsets, len(view))
    return offsets


def _text_lines(
    f: _File, source: Source, data: bytes | bytearray, limits: IngestLimits
) -> pa.Table | None:
    if data.find(b"\x00") != -1:
        f.quarantine("binary content (NUL bytes): not a UTF-8 text file")
        return None
    offsets = _line_starts(data, len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0)
    if len(offsets) < 2:
        f.quarantine("empty file (no content)")
        return None
    first_line = 1
    if f.format == "csv":
        header = bytes(data[offsets[0] : offsets[1]]).rstrip(b"\r\n")
        if not _check_header(f, source, header):
            return None
        offsets, first_line = offsets[1:], 2
    n = len(offsets) - 1
    f.lines_in_file = n
    # Bytes of each line without its line break (every line but maybe the last has one).
    n_bytes = np.diff(offsets)
    n_bytes[: n - 1] -= 1
    if n and data[offsets[-1] - 1 : offsets[-1]] == b"\n":
        n_bytes[-1] -= 1
    text = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    oversize = n_bytes > limits.max_line_bytes
    if oversize.any():
        # Only a prefix of an over-long line goes on: enough to show in the reject.
        # (At most max_file_bytes / max_line_bytes of them: a short loop.)
        prefixes = [bytes(data[o : o + REJECT_LINE_CHARS]) for o in offsets[:-1][oversize]]
        text = pc.replace_with_mask(text, pa.array(oversize), pa.array(prefixes, pa.large_binary()))
    return pa.table(
        {
            "file_id": pa.array(np.full(n, f.file_id, dtype=np.int32)),
            "line": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
            "text": text,
            "n_bytes": pa.array(n_bytes),
            "oversize": pa.array(oversize),
        }
    )


def _check_header(f: _File, source: Source, header_bytes: bytes) -> bool:
    try:
        header_line = header_bytes.decode("utf-8")
    except UnicodeDecodeError:
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
    """Quarantine a file whose columns repeat a name or lack a required one (one pass over
    the columns: a header may have tens of thousands)."""
    dupes = sorted(name for name, count in Counter(header).items() if count > 1)
    if dupes:
        listed = ", ".join(dupes[:20]) + (f" and {len(dupes) - 20} more" if len(dupes) > 20 else "")
        f.quarantine(f"duplicate column(s) {listed} (names are case-insensitive)")
        return False
    present = set(header)
    missing = [c for c in source.required_columns if c not in present]
    if missing:
        f.quarantine(f"missing required column(s) {', '.join(missing)}; columns: {shown}")
        return False
    return True


class _Stage:
    """Temp tables holding the parsed and validated rows of one source's new files until
    they are committed together."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source, limits: IngestLimits):
        self.con, self.source, self.limits = con, source, limits
        self.files: list[_File] = []
        con.execute(
            f"create or replace temp table _ing_good as select * from raw.{source.name} limit 0"
        )
        con.execute(
            "create or replace temp table _ing_rejects (file_id INTEGER, line BIGINT,"
            ' "column" VARCHAR, reason VARCHAR, raw_line VARCHAR, raw_line_bytes BIGINT)'
        )
        con.execute(
            "create or replace temp table _ing_stats (file_id INTEGER, rows_read BIGINT,"
            " rows_loaded BIGINT, rows_rejected BIGINT, blank_lines BIGINT,"
            " continuation_lines BIGINT)"
        )

    def _too_long(self, n_bytes: str, what: str = "'line'") -> str:
        """The reject reason of a line (or `what`) over the size limit, as SQL."""
        return (
            f"{what} || ' of ' || {n_bytes} || ' bytes is longer than INGEST_MAX_LINE_BYTES"
            f" ({self.limits.max_line_bytes:,} bytes)'"
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
        con.execute(
            "create or replace temp table _ing_recs (file_id INTEGER, line BIGINT,"
            " n_lines BIGINT, raw_text VARCHAR, keys VARCHAR[], vals VARCHAR[],"
            " rec_error VARCHAR, blank BOOLEAN, n_bytes BIGINT)"
        )
        if texts:
            self._decode_lines(pa.concat_tables(texts))
            self._csv_records()
            self._jsonl_records()
            con.execute("drop table _ing_lines")
        self._parquet_records([f for f in loadable if f.format == "parquet"])
        self._not_jsonl(loadable)
        self._validate()

    def _decode_lines(self, lines: pa.Table) -> None:
        """Arrow lines (bytes) -> `_ing_lines` (text). A line that is not valid UTF-8 keeps
        its bytes escaped (`\\xE9`; quotes and line breaks as they are) and is rejected."""
        con = self.con
        con.register("_ing_lines_arrow", lines)
        try:
            con.execute(
                """create or replace temp table _ing_lines as
                with d as (select *, try(decode(text)) as decoded from _ing_lines_arrow)
                select file_id, line, n_bytes, oversize,
                    decoded is null and not oversize as bad_utf8,
                    rtrim(coalesce(decoded, replace(replace(replace(cast(text as varchar),
                        '\\x22', '"'), '\\x0D', chr(13)), '\\x0A', chr(10))), chr(10)) as text
                from d"""
            )
        finally:
            con.unregister("_ing_lines_arrow")

    def _csv_records(self) -> None:
        """CSV lines -> records. A line with an odd number of `"` opens or closes a quoted
        value spanning lines; only files holding such lines go through the record assembly,
        every other line is a record by itself. An over-long line (only its prefix is
        here) counts no quotes: it stands alone unless a quote opened before it."""
        con = self.con
        con.execute(
            """create or replace temp table _ing_csv_lines as
            select l.file_id, l.line, rtrim(l.text, chr(13)) as text, l.n_bytes, l.oversize,
                l.bad_utf8, false as broken,
                case when l.oversize then 0
                    else (length(l.text) - length(replace(l.text, '"', ''))) % 2 end as q
            from _ing_lines l join _ing_batch_files f using (file_id)
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
                false as odd_quotes, n_bytes, bad_utf8
            from _ing_csv_lines where not list_contains(?, file_id)""",
            [spanning],
        )
        todo = spanning
        while todo:
            in_todo = f"file_id in ({', '.join(map(str, todo))})"
            con.execute(f"delete from _ing_csv_recs where {in_todo}")
            con.execute(f"insert into _ing_csv_recs {_CSV_RECORDS.format(filter=in_todo)}")
            # Only the first failed record of a file: the parity of everything after it
            # changes. A record over the size limit is rejected whole, not taken apart.
            bad = con.execute(
                f"""select file_id, min(r.line) from _ing_csv_recs r
                join _ing_batch_files f using (file_id)
                where {in_todo} and (r.unclosed or (r.n_lines > 1
                    and r.n_bytes <= {self.limits.max_line_bytes} and not (
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
        record = "case when n_lines = 1 then 'line' else 'record over ' || n_lines || ' lines' end"
        con.execute(
            f"""insert into _ing_recs
            with r as (
                select r.*, f.header, contains(r.text, '"') as quoted,
                    r.n_bytes > {self.limits.max_line_bytes} as too_long
                from _ing_csv_recs r join _ing_batch_files f using (file_id)
            ), p as (
                select *,
                    too_long or not quoted
                        or regexp_full_match(text, {lit(CSV_WELL_FORMED)}) as well_formed,
                    case when too_long then []
                        when quoted then list_transform(
                            regexp_extract_all(',' || text, {lit(CSV_FIELDS)}, 1),
                            lambda x: case when starts_with(x, '"')
                                then replace(substr(x, 2, length(x) - 2), '""', '"') else x end)
                        else string_split(text, ',') end as fields
                from r
            )
            select file_id, line, n_lines, left(text, {REJECT_LINE_CHARS}), header, fields,
                case
                    when too_long then {self._too_long("n_bytes", record)}
                    when bad_utf8
                        then 'invalid UTF-8 byte sequence (the file must be UTF-8 encoded)'
                    when unclosed or odd_quotes
                        then 'unterminated quoted field (odd number of ''"'')'
                    when not well_formed then 'malformed quoting (a ''"'' inside an unquoted'
                        || ' field, or text after a closing quote)'
                    when len(fields) <> len(header) then 'wrong number of fields: the header has '
                        || len(header) || ', this row has ' || len(fields)
                end,
                n_lines = 1 and trim(text) = '',
                n_bytes
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
                select l.file_id, l.line, regexp_replace(l.text, '\\r$', '') as text,
                    l.bad_utf8, l.oversize, l.n_bytes
                from _ing_lines l join _ing_batch_files f using (file_id)
                where f.format = 'jsonl'
            ), j as (
                select *, case when not oversize and json_valid(text) then json_type(text) end
                    as jtype
                from l
            ), k as (
                select *, case when jtype = 'OBJECT' then json_keys(text) end as k from j
            )
            select file_id, line, 1, text,
                list_transform(k, lambda x: lower(trim(x))),
                list_transform(k, lambda x: nullif(
                    json_extract_string(text, '$."' || replace(x, '"', '\\"') || '"'), '')),
                case
                    when oversize then {self._too_long("n_bytes")}
                    when bad_utf8
                        then 'invalid UTF-8 byte sequence (the file must be UTF-8 encoded)'
                    when jtype is null then 'invalid JSON'
                    when jtype <> 'OBJECT' then 'not a JSON object (a JSON ' || lower(jtype) || ')'
                    when len(list_distinct(list_transform(k, lambda x: lower(trim(x)))))
                        < len(k) then 'duplicate key (keys are case-insensitive)'
                    when len({nested}) > 0 then 'a JSON object or array where a single value '
                        || 'is due: ' || array_to_string({nested}, ', ')
                end,
                trim(text) = '',
                n_bytes
            from k"""
        )

    def _parquet_records(self, files: list[_File]) -> None:
        """All Parquet files in one statement; if that fails, file by file, quarantining
        the ones that cannot be read. A row whose values add up to more than the line
        limit is rejected like an over-long line."""
        if not files:
            return
        selects = {f.file_id: _parquet_select(f) for f in files}

        def insert(select: str) -> None:
            self.con.execute(
                f"""insert into _ing_recs
                select file_id, line, 1, null, keys, vals,
                    case when n_bytes > {self.limits.max_line_bytes}
                        then {self._too_long("n_bytes", "'row'")} end,
                    false, n_bytes
                from (select *, coalesce(list_sum(list_transform(vals,
                    lambda x: strlen(coalesce(x, '')))), 0) as n_bytes from ({select}))"""
            )

        try:
            insert(" union all ".join(selects.values()))
            return
        except duckdb.Error:
            pass
        for f in files:
            try:
                insert(selects[f.file_id])
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
        # A reject keeps a prefix of its record and the record's full size.
        con.execute(
            f"""insert into _ing_rejects
            select file_id, line, null, rec_error,
                left(coalesce(raw_text, to_json(map(keys, vals))::VARCHAR), {REJECT_LINE_CHARS}),
                n_bytes
            from _ing_recs
            where rec_error is not null and not blank
            union all
            select file_id, line, __err_column, __err_reason,
                left(raw_text, {REJECT_LINE_CHARS}), n_bytes
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
    sum(qe) % 2 = 1, sum(q) % 2 = 1, sum(n_bytes) + count(*) - 1, bool_or(bad_utf8)
from r group by file_id, rec
"""


def _parquet_select(f: _File) -> str:
    keys = ", ".join(lit(n) for n in f.header or [])
    vals = ", ".join(f"nullif(cast({ident(n)} as VARCHAR), '')" for n in f.columns or [])
    return (
        f"select {f.file_id}::INTEGER as file_id, file_row_number + 1 as line,"
        f" [{keys}]::VARCHAR[] as keys, [{vals}]::VARCHAR[] as vals"
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
            """insert into raw._rejects by name
            select f.file, ? as source, r.line, r."column", r.reason, r.raw_line,
                ? as batch_id, ? as rejected_at, r.raw_line_bytes
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
