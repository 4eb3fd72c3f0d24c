"""What ingestion will not do, whatever lands: read outside the landing directory, open a
pipe, read a hidden or half-written file, hold more than its limits in memory, or keep a
whole giant line in `raw._rejects`. Each case is recorded in `raw._files` or
`raw._rejects` with its reason; expected values are worked out from the fixture text."""

from __future__ import annotations

import gzip
import hashlib
import os

import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.lib.contract import SOURCES_BY_NAME
from orchestration.lib.ingest import REJECT_LINE_CHARS, ensure_raw_schema, ingest_source
from orchestration.lib.settings import IngestLimits
from tests.ingest_fixtures import rows, write
from tests.unit.test_ingest_bad_input import (
    DAY,
    GOOD,
    HEADER,
    assert_reconciles,
    file_row,
    loaded_lines,
    rejects,
)

ORDERS = SOURCES_BY_NAME["web_orders"]
LEDGER = SOURCES_BY_NAME["loyalty_ledger"]
# A web order whose id appears nowhere else: if it reaches raw, the file was read.
SECRET = "o-from-outside,2024-01-01T10:00:00Z,web,placed,1.00,1.00"
OUTSIDE = "a symbolic link that resolves outside the landing directory: not read"


def ingest(con, landing, source=ORDERS, **limits):
    return ingest_source(con, source, landing, batch_id="b1", limits=IngestLimits(**limits))


def write_parquet(landing, table: pa.Table, **options):
    path = landing / "loyalty_ledger/2024-01-01/l.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path, **options)
    return path


def files(con):
    return rows(con, "select file, status, reason from raw._files order by file")


def test_links_out_of_the_landing_directory_are_recorded_never_read(con, tmp_path):
    landing = tmp_path / "landing"
    outside = tmp_path / "elsewhere"
    write(outside, "orders.csv", f"{HEADER}\n{SECRET}\n")
    write(outside, "2024-01-02/orders.csv", f"{HEADER}\n{SECRET}\n")
    write(landing, f"{DAY}/good.csv", f"{HEADER}\n{GOOD}\n")
    (landing / DAY / "link.csv").symlink_to(outside / "orders.csv")
    (landing / "web_orders" / "2024-01-02").symlink_to(outside / "2024-01-02")
    (landing / DAY / "relative.csv").symlink_to("../../../elsewhere/orders.csv")
    result = ingest(con, landing)
    assert files(con) == [
        (f"{DAY}/good.csv", "loaded", None),
        (f"{DAY}/link.csv", "quarantined", OUTSIDE),
        (f"{DAY}/relative.csv", "quarantined", OUTSIDE),
        ("web_orders/2024-01-02", "quarantined", OUTSIDE),
    ]
    assert (result.files_seen, result.files_loaded, result.files_quarantined) == (4, 1, 3)
    assert rows(con, "select order_id from raw.web_orders") == [("o1",)]
    assert rows(con, "select count(*) from raw._rejects") == [(0,)]
    # The folder link is the day's delivery: the day is known, so its rule can block.
    assert rows(
        con, "select delivery_date::varchar from raw._files where file = 'web_orders/2024-01-02'"
    ) == [("2024-01-02",)]


def test_a_source_folder_linked_elsewhere_is_recorded(con, tmp_path):
    landing = tmp_path / "landing"
    write(tmp_path / "share", "2024-01-01/orders.csv", f"{HEADER}\n{SECRET}\n")
    landing.mkdir()
    (landing / "web_orders").symlink_to(tmp_path / "share")
    ingest(con, landing)
    assert files(con) == [("web_orders", "quarantined", OUTSIDE)]
    assert rows(con, "select count(*) from raw.web_orders") == [(0,)]


def test_links_inside_the_landing_directory_are_read_once(con, tmp_path):
    landing = tmp_path / "landing"
    write(landing, f"{DAY}/orders.csv", f"{HEADER}\n{GOOD}\n")
    (landing / DAY / "again.csv").symlink_to(landing / DAY / "orders.csv")
    (landing / "web_orders" / "2024-01-02").symlink_to(landing / DAY)
    ingest(con, landing)
    assert files(con) == [
        (f"{DAY}/again.csv", "loaded", None),
        (f"{DAY}/orders.csv", "duplicate", f"same bytes as {DAY}/again.csv"),
        (
            "web_orders/2024-01-02",
            "skipped",
            "a symbolic link to a folder: links to folders are not followed (its files are "
            "read where they are, if they are in the landing directory)",
        ),
    ]
    assert rows(con, "select order_id, _file from raw.web_orders") == [("o1", f"{DAY}/again.csv")]


def test_hidden_partial_and_special_files_are_recorded_not_read(con, tmp_path):
    landing = tmp_path / "landing"
    write(landing, f"{DAY}/good.csv", f"{HEADER}\n{GOOD}\n")
    write(landing, f"{DAY}/.good.csv.swp", f"{HEADER}\n{SECRET}\n")
    write(landing, f"{DAY}/.staging/orders.csv", f"{HEADER}\n{SECRET}\n")
    write(landing, f"{DAY}/upload.csv.part", f"{HEADER}\n{SECRET}\n")
    write(landing, f"{DAY}/upload.CSV.TMP", f"{HEADER}\n{SECRET}\n")
    os.mkfifo(landing / DAY / "pipe.csv")  # opening it would block ingestion for ever
    (landing / DAY / "dangling.csv").symlink_to(landing / DAY / "gone.csv")
    result = ingest(con, landing)
    partial = "still being written (*.tmp, *.part): not a delivery yet, not read"
    assert files(con) == [
        (
            f"{DAY}/.good.csv.swp",
            "skipped",
            "a hidden file (its name starts with '.'): not a delivery, not read",
        ),
        (
            f"{DAY}/.staging",
            "skipped",
            "a hidden folder (its name starts with '.'): not a delivery, not read",
        ),
        (f"{DAY}/dangling.csv", "quarantined", "a symbolic link to nothing or to a special file"),
        (f"{DAY}/good.csv", "loaded", None),
        (f"{DAY}/pipe.csv", "quarantined", "not a regular file but a named pipe"),
        (f"{DAY}/upload.CSV.TMP", "skipped", partial),
        (f"{DAY}/upload.csv.part", "skipped", partial),
    ]
    assert (result.files_skipped, result.files_quarantined) == (4, 2)
    assert rows(con, "select order_id from raw.web_orders") == [("o1",)]
    # Recorded once: the next run reads none of them again and adds no row.
    again = ingest(con, landing)
    assert (again.files_known, len(files(con))) == (7, 7)


def test_a_file_over_the_size_limit_is_quarantined_unread_but_hashed(con, landing):
    text = f"{HEADER}\n{GOOD}\n" + f"{GOOD.replace('o1', 'o2')}\n" * 20
    write(landing, f"{DAY}/big.csv", text)
    write(landing, f"{DAY}/small.csv", f"{HEADER}\n{GOOD}\n")
    ingest(con, landing, max_file_bytes=200)
    assert file_row(con, f"{DAY}/big.csv")[:2] == (
        "quarantined",
        f"is {len(text):,} bytes, more than INGEST_MAX_FILE_BYTES (200 bytes): not loaded",
    )
    assert rows(con, "select size_bytes, sha256 from raw._files where file like '%big.csv'") == [
        (len(text), hashlib.sha256(text.encode()).hexdigest())
    ]
    assert file_row(con, f"{DAY}/small.csv")[:2] == ("loaded", None)


def test_decompression_stops_at_the_size_limit(con, landing):
    # 5 MiB of one line, about 5 KiB compressed: the limit is on what it expands to.
    text = f"{HEADER}\n" + "o1,2024-01-01T10:00:00Z,web,placed,1,1" + "0" * (5 << 20) + "\n"
    write(landing, f"{DAY}/bomb.csv.gz", gzip.compress(text.encode(), mtime=0))
    ingest(con, landing, max_file_bytes=1 << 20)
    assert file_row(con, f"{DAY}/bomb.csv.gz")[:2] == (
        "quarantined",
        "decompresses to more than INGEST_MAX_FILE_BYTES (1,048,576 bytes): not loaded",
    )


def test_an_over_long_line_is_rejected_with_a_prefix_and_its_size(con, landing):
    long_line = GOOD.replace("o1", "o2") + "0" * 5000  # 5,045 bytes: net_amount runs on
    text = f"{HEADER}\n{GOOD}\n{long_line}\n{GOOD.replace('o1', 'o3')}\n"
    write(landing, f"{DAY}/long.csv", text)
    ingest(con, landing, max_line_bytes=1000)
    rel = f"{DAY}/long.csv"
    assert rejects(con, rel) == [
        (
            3,
            None,
            f"line of {len(long_line)} bytes is longer than INGEST_MAX_LINE_BYTES (1,000 bytes)",
        )
    ]
    assert loaded_lines(con, rel) == [2, 4]
    assert rows(con, "select raw_line, raw_line_bytes from raw._rejects") == [
        (long_line[:REJECT_LINE_CHARS], len(long_line))
    ]
    assert_reconciles(con)


def test_a_quoted_record_over_the_limit_is_rejected_whole(con, landing):
    header = HEADER + ",coupon_code"
    record = GOOD.replace("o1", "o2") + ',"' + "x" * 600 + "\n" + "y" * 600 + '"'
    text = f"{header}\n{GOOD},\n{record}\n{GOOD.replace('o1', 'o3')},\n"
    write(landing, f"{DAY}/quoted.csv", text)
    ingest(con, landing, max_line_bytes=1000)
    rel = f"{DAY}/quoted.csv"
    assert rejects(con, rel) == [
        (
            3,
            None,
            f"record over 2 lines of {len(record)} bytes is longer than "
            "INGEST_MAX_LINE_BYTES (1,000 bytes)",
        )
    ]
    assert loaded_lines(con, rel) == [2, 5]
    assert rows(con, "select continuation_lines, rows_read from raw._files") == [(1, 3)]
    assert_reconciles(con)


def test_over_long_jsonl_line_and_parquet_row_are_rejected(con, landing):
    good = (
        '{"order_id":"j1","order_ts":"2024-01-01T10:00:00Z","storefront":"web",'
        '"status":"placed","gross_amount":1,"net_amount":1}'
    )
    long = good.replace("j1", "j2").replace("}", ',"note":"' + "n" * 2000 + '"}')
    write(landing, f"{DAY}/o.jsonl", f"{good}\n{long}\n")
    ingest(con, landing, max_line_bytes=1000)
    assert rejects(con, f"{DAY}/o.jsonl") == [
        (2, None, f"line of {len(long)} bytes is longer than INGEST_MAX_LINE_BYTES (1,000 bytes)")
    ]

    table = pa.table(
        {
            "entry_id": ["e1", "e2"],
            "entry_ts": ["2024-01-01T10:00:00Z"] * 2,
            "loyalty_id": ["L1", "L" + "1" * 1500],
            "entry_type": ["earn", "earn"],
            "points": ["5", "5"],
        }
    )
    write_parquet(landing, table)
    ingest(con, landing, LEDGER, max_line_bytes=1000)
    # e2's values: 2 + 20 + 1501 + 4 + 1 bytes
    assert rejects(con, "loyalty_ledger/2024-01-01/l.parquet") == [
        (2, None, "row of 1528 bytes is longer than INGEST_MAX_LINE_BYTES (1,000 bytes)")
    ]
    assert rows(con, "select entry_id from raw.loyalty_ledger") == [("e1",)]


def test_a_parquet_file_expanding_over_the_limit_is_quarantined(con, landing):
    n = 1000
    table = pa.table(
        {
            "entry_id": [f"e{i}" for i in range(n)],
            "entry_ts": ["2024-01-01T10:00:00Z"] * n,
            "loyalty_id": ["L1"] * n,
            "entry_type": ["earn"] * n,
            "points": ["5"] * n,
            "note": ["n" * 100] * n,
        }
    )
    # Without dictionary encoding the pages hold every value; zstd shrinks them on disk.
    path = write_parquet(landing, table, compression="zstd", use_dictionary=False)
    assert path.stat().st_size < 20_000
    ingest(con, landing, LEDGER, max_file_bytes=20_000)
    status, reason = file_row(con, "loyalty_ledger/2024-01-01/l.parquet")[:2]
    assert status == "quarantined"
    assert reason.startswith("holds ") and reason.endswith(
        " bytes uncompressed, more than INGEST_MAX_FILE_BYTES (20,000 bytes): not loaded"
    )


def test_a_reject_keeps_a_bounded_prefix_of_its_line(con, landing):
    # Under the line limit but with a bad amount: rejected for the value, cut for the table.
    line = "o2,2024-01-01T10:00:00Z,web,placed,ten,1," + "c" * 10_000
    write(landing, f"{DAY}/coupon.csv", f"{HEADER},coupon_code\n{line}\n")
    ingest(con, landing)
    assert rows(con, 'select "column", length(raw_line), raw_line_bytes from raw._rejects') == [
        ("gross_amount", REJECT_LINE_CHARS, len(line))
    ]


def test_header_checks_are_linear_in_the_number_of_columns(con, landing):
    # 200,000 columns: a check comparing every column with every other would not finish.
    names = [f"attribute_{i:06d}" for i in range(200_000)]
    duplicated = [*HEADER.split(","), *names, "attribute_000007", "Attribute_000123"]
    write(landing, f"{DAY}/wide.csv", ",".join(duplicated) + "\n")
    wide = [*HEADER.split(","), *names[:20_000]]
    values = [*GOOD.split(","), *(["v"] * 20_000)]
    write(landing, "web_orders/2024-01-02/wide.csv", ",".join(wide) + "\n" + ",".join(values))
    ingest(con, landing)
    assert file_row(con, f"{DAY}/wide.csv")[:2] == (
        "quarantined",
        "duplicate column(s) attribute_000007, attribute_000123 (names are case-insensitive)",
    )
    assert file_row(con, "web_orders/2024-01-02/wide.csv")[:4] == ("loaded", None, 1, 1)
    assert rows(
        con, "select json_extract_string(_extra, 'attribute_019999') from raw.web_orders"
    ) == [("v",)]


def test_an_older_reject_table_gains_the_size_column(con):
    con.execute("create schema raw")
    con.execute(
        "create table raw._rejects (file VARCHAR, source VARCHAR, line BIGINT,"
        ' "column" VARCHAR, reason VARCHAR, raw_line VARCHAR, batch_id VARCHAR,'
        " rejected_at TIMESTAMP)"
    )
    con.execute("insert into raw._rejects (file, line, raw_line) values ('f.csv', 2, 'x,y')")
    ensure_raw_schema(con)
    assert rows(con, "select file, raw_line, raw_line_bytes from raw._rejects") == [
        ("f.csv", "x,y", None)
    ]
