"""Landing files and their ground truth.

A `Batch` is one source's records for one chunk of people. `LandingWriter` sorts
them into delivery-day files (format, compression, header case and column order
chosen per source and day from the seed), plants the contract-breaking rows and
files, and writes one ground-truth row per physical record.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from orchestration.generator import fmt
from orchestration.generator.population import Context
from orchestration.lib.contract import SOURCES_BY_NAME

# (extension, share in percent) of the per-(source, day) format draw.
FORMATS = (("csv", 66), ("csv.gz", 10), ("jsonl", 10), ("jsonl.gz", 6), ("parquet", 8))
TEXT_FORMATS = ("csv", "csv.gz", "jsonl", "jsonl.gz")
TYPED = {"int": pa.int64(), "number": pa.float64(), "bool": pa.bool_()}

DUPLICATE_SOURCE = "pos_transactions"
UNREADABLE_SOURCE = "web_sessions"

# Rows planted to break the contract: (source, column, written value, reason).
# column None: the CSV line gets one field too many.
PLANTED_ROWS = (
    ("web_orders", "order_ts", "2026-02-30T25:61:00Z", "unparseable timestamp"),
    ("web_orders", "status", "pending_payment", "status outside its domain"),
    ("web_orders", "gross_amount", "12.345", "money with 3 decimals"),
    ("web_orders", "net_amount", "-5.00", "net_amount is negative"),
    ("pos_transactions", "item_count", "3x", "letters in an int"),
    ("pos_transactions", "transaction_id", None, "missing required transaction_id"),
    ("pos_transactions", None, None, "wrong number of CSV fields"),
    ("web_sessions", "device_type", "smart_tv", "device_type outside its domain"),
    ("app_events", "event_type", None, "missing required event_type"),
    ("campaign_events", "channel", "fax", "channel outside its domain"),
    ("campaign_events", None, None, "wrong number of CSV fields"),
    ("service_tickets", "opened_ts", "yesterday", "unparseable timestamp"),
    ("survey_responses", "score", "11", "nps score outside 0..10"),
    ("loyalty_ledger", "points", "ten", "letters in an int"),
    ("crm_customers", "birth_date", "1990-13-01", "unparseable date"),
    ("social_interactions", "platform", "myspace", "platform outside its domain"),
    ("experiment_assignments", "assigned_ts", None, "missing required assigned_ts"),
    ("marketing_spend", "spend", "1,234.50", "unparseable money"),
)


@dataclass
class Batch:
    """One source's records for one chunk: string columns plus routing metadata."""

    source: str
    columns: dict[str, pa.Array]  # contract columns (and extras), all strings
    person: np.ndarray  # global person index, -1 when the record belongs to nobody
    day: np.ndarray  # delivery day (days since window start)
    order: np.ndarray  # sort key within a file (epoch seconds of the event)
    truth: dict[str, pa.Array] = field(default_factory=dict)  # extra ground-truth columns


def _stable(*parts) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def natural_key(source: str, columns: dict[str, pa.Array]) -> pa.Array:
    parts = [pc.fill_null(columns[c], "") for c in SOURCES_BY_NAME[source].natural_key]
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")


def _to_bytes(arr: pa.Array) -> bytes:
    """Concatenated bytes of a non-null string array (one line per element)."""
    arr = pa.concat_arrays([pc.cast(arr, pa.large_string())])
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[: len(arr) + 1]
    data = arr.buffers()[2]
    return b"" if data is None else data.to_pybytes()[offsets[0] : offsets[-1]]


def _typed(values: pa.Array, type_: str) -> pa.Array:
    """The column as its natural type when every value parses, else left as text."""
    target = TYPED.get(type_)
    if target is None:
        return values
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return values


def _jsonl(table: pa.Table, types: list[str]) -> bytes:
    parts = []
    for i, (name, col) in enumerate(zip(table.column_names, table.columns, strict=True)):
        values = _typed(col.combine_chunks(), types[i])
        if pa.types.is_string(values.type):
            rendered = fmt.join('"', fmt.json_escape(values), '"')
        else:
            rendered = pc.cast(values, pa.string())
        rendered = pc.fill_null(rendered, "null")
        parts.append(fmt.join("," if i else "{", '"', name, '":', rendered))
    return _to_bytes(fmt.join(*parts, "}\n"))


def _csv(table: pa.Table, extra_field_rows: np.ndarray) -> bytes:
    buf = io.BytesIO()
    pcsv.write_csv(table, buf, pcsv.WriteOptions(quoting_style="needed"))
    data = buf.getvalue()
    if len(extra_field_rows) == 0:
        return data
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    cut = [int(ends[r + 1]) for r in sorted(extra_field_rows)]  # +1: the header line
    pieces, prev = [], 0
    for pos in cut:
        pieces += [data[prev:pos], b',"surplus"']
        prev = pos
    return b"".join([*pieces, data[prev:]])


def _parquet(table: pa.Table, types: list[str]) -> bytes:
    cols = [_typed(c.combine_chunks(), t) for c, t in zip(table.columns, types, strict=True)]
    buf = io.BytesIO()
    pq.write_table(pa.table(cols, names=table.column_names), buf, compression="snappy")
    return buf.getvalue()


@dataclass
class LandingWriter:
    ctx: Context
    landing_dir: Path
    truth_dir: Path
    files: Counter = field(default_factory=Counter)  # files per extension
    rows: Counter = field(default_factory=Counter)  # physical records per source
    anomalies: dict = field(default_factory=lambda: {"malformed_rows": []})
    _truth: dict = field(default_factory=dict)

    def file_format(self, source: str, day: int) -> str:
        draw = _stable(self.ctx.seed, source, day) % 100
        for ext, share in FORMATS:
            if draw < share:
                return ext
            draw -= share
        raise AssertionError("format shares must add up to 100")

    def write(self, batch: Batch, chunk: int) -> None:
        keep = (batch.day >= 0) & (batch.day < self.ctx.days)
        idx = np.flatnonzero(keep)[np.lexsort((batch.order[keep], batch.day[keep]))]
        take = pa.array(idx)
        cols = {k: v.take(take) for k, v in batch.columns.items()}
        truth_cols = {k: v.take(take) for k, v in batch.truth.items()}
        day, person = batch.day[idx], batch.person[idx]
        key = natural_key(batch.source, cols)
        n = len(idx)
        reason = np.full(n, None, dtype=object)
        extra_field = np.zeros(n, dtype=bool)
        special: dict[int, str] = {}
        planted: list[dict] = []
        if chunk == 0 and n:
            special = self._special_files(batch.source, day)
            planted = self._plant(batch.source, cols, day, special, reason, extra_field)
        person_ids = fmt.nulls_where(fmt.ids("P", np.maximum(person, 0), 8), person < 0)
        bounds = np.flatnonzero(np.diff(day)) + 1
        starts = np.concatenate([[0], bounds]).astype(np.int64) if n else []
        stops = np.concatenate([bounds, [n]]).astype(np.int64) if n else []
        truths, placed = [], {}
        for a, b in zip(starts, stops, strict=True):
            d = int(day[a])
            part = {k: v[a:b] for k, v in cols.items()}
            rel, data, first_line, status = self._write_file(
                batch.source, d, chunk, part, np.flatnonzero(extra_field[a:b]), special.get(d)
            )
            placed[d] = (rel, first_line - a)
            extra = {k: v[a:b] for k, v in truth_cols.items()}
            rows = (batch.source, key[a:b], first_line, person_ids[a:b], reason[a:b], extra)
            truths.append(self._truth_rows(rel, status, *rows))
            if special.get(d) == "duplicate":
                copy_day = min(d + 2, self.ctx.days - 1)
                name = f"{batch.source}_resend_{self.ctx.day_name(d).replace('-', '')}.csv"
                copy_rel = f"{batch.source}/{self.ctx.day_name(copy_day)}/{name}"
                self._put(copy_rel, data)
                self.anomalies["duplicate_file"] = {"original": rel, "copy": copy_rel}
                truths.append(self._truth_rows(copy_rel, "duplicate", *rows))
        for item in planted:
            rel, shift = placed[int(day[item["row"]])]
            item.update(file=rel, line=int(item.pop("row") + shift))
        self.anomalies["malformed_rows"] += planted
        if truths:
            self._append_truth(batch.source, pa.concat_tables(truths))

    def _special_files(self, source: str, day: np.ndarray) -> dict[int, str]:
        """The one duplicated and the one unreadable file: the first non-empty delivery
        day of their source from the middle of the window on (chunk 0 only)."""
        kinds = {DUPLICATE_SOURCE: "duplicate", UNREADABLE_SOURCE: "unreadable"}
        if source not in kinds:
            return {}
        later = day[day >= self.ctx.days // 2]
        return {int(later[0] if len(later) else day[-1]): kinds[source]}

    def _ext(self, source: str, day: int, special: str | None) -> str:
        return {"duplicate": "csv", "unreadable": "csv.gz"}.get(special) or self.file_format(
            source, day
        )

    def _plant(self, source, cols, day, special, reason, extra_field) -> list[dict]:
        """Break a few rows in text files (never in the special files); returns them."""
        rng = self.ctx.rng(7_000, _stable(source))
        days = np.unique(day)
        ext = np.array([self._ext(source, int(d), special.get(int(d))) for d in days])
        planted: list[dict] = []
        for src, column, value, why in PLANTED_ROWS:
            if src != source:
                continue
            allowed = ("csv", "csv.gz") if column is None else TEXT_FORMATS
            ok_days = days[np.isin(ext, allowed) & ~np.isin(days, list(special))]
            eligible = np.flatnonzero(np.isin(day, ok_days) & (reason == None))  # noqa: E711
            if len(eligible) == 0:
                continue
            row = int(rng.choice(eligible))
            reason[row] = why
            if column is None:
                extra_field[row] = True
            else:
                mask = pa.array(np.arange(len(day)) == row)
                cols[column] = pc.if_else(mask, pa.scalar(value, pa.string()), cols[column])
            planted.append(
                {"source": source, "column": column, "value": value, "reason": why, "row": row}
            )
        return planted

    def _layout(self, source: str, day: int, names: list[str]) -> list[str]:
        """Column order and header case vary by file, as the contract allows."""
        h = _stable(self.ctx.seed, "layout", source, day)
        if h % 5 == 0:
            names = [names[i] for i in np.random.default_rng(h).permutation(len(names))]
        return names

    def _write_file(self, source, day, chunk, cols, extra_rows, special):
        ext = self._ext(source, day, special)
        src = SOURCES_BY_NAME[source]
        names = self._layout(source, day, list(cols))
        upper = _stable(self.ctx.seed, "upper", source, day) % 10 == 0
        header = [n.upper() if upper else n for n in names]
        types = [src.column(n).type if n in src.column_names else "text" for n in names]
        table = pa.table([cols[n] for n in names], names=header)
        base = ext.removesuffix(".gz")
        if base == "csv":
            data = _csv(table, extra_rows)
        elif base == "jsonl":
            data = _jsonl(table, types)
        else:
            data = _parquet(table, types)
        if ext.endswith(".gz"):
            data = gzip.compress(data, compresslevel=6, mtime=0)
        stamp = self.ctx.day_name(day)
        rel = f"{source}/{stamp}/{source}_{stamp.replace('-', '')}_part{chunk:03d}.{ext}"
        status, written = "ok", data
        if special == "unreadable":
            status, written = "unreadable", data[: max(20, len(data) // 2)]
            self.anomalies["unreadable_file"] = {"file": rel, "reason": "truncated gzip archive"}
        self._put(rel, written)
        first_line = 2 if base == "csv" else 1
        return rel, data, first_line, status

    def _put(self, rel: str, data: bytes) -> None:
        path = self.landing_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[rel.split(".", 1)[1]] += 1

    def _truth_rows(
        self, rel, status, source, key, first_line, person_ids, reason, extra
    ) -> pa.Table:
        n = len(key)
        self.rows[source] += n
        return pa.table(
            {
                "source": pa.array(np.full(n, source), pa.string()),
                "source_record_id": key,
                "file": pa.array(np.full(n, rel), pa.string()),
                "line": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
                "person_id": person_ids,
                "expect_reject": pa.array(reason != None),  # noqa: E711
                "reject_reason": pa.array(reason, pa.string()),
                "file_status": pa.array(np.full(n, status), pa.string()),
                **extra,
            }
        )

    def _append_truth(self, source: str, table: pa.Table) -> None:
        writer = self._truth.get(source)
        if writer is None:
            path = self.truth_dir / "records" / f"{source}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._truth[source] = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)

    def close(self) -> None:
        for writer in self._truth.values():
            writer.close()
