"""Bad-input catalogue for the ingestion: every case states the expected outcome worked out
by hand from the fixture text, and that no line is lost or counted twice."""

from __future__ import annotations

import gzip
import io
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.lib.contract import SOURCES, SOURCES_BY_NAME
from orchestration.lib.ingest import ensure_raw_schema, ingest_source
from tests.ingest_fixtures import rows, write

ORDERS = SOURCES_BY_NAME["web_orders"]
LEDGER = SOURCES_BY_NAME["loyalty_ledger"]
HEADER = "order_id,order_ts,storefront,status,gross_amount,net_amount"
GOOD = "o1,2024-01-01T10:00:00Z,web,placed,10.00,9.50"
DAY = "web_orders/2024-01-01"


def ingest(con, landing, source=ORDERS, **kw):
    return ingest_source(con, source, landing, batch_id="b1", **kw)


def file_row(con, rel):
    return rows(
        con,
        "select status, reason, lines_in_file, rows_read, rows_loaded, rows_rejected"
        " from raw._files where file = ?",
        [rel],
    )[0]


def rejects(con, rel):
    return rows(
        con, 'select line, "column", reason from raw._rejects where file = ? order by line', [rel]
    )


def loaded_lines(con, rel, table="web_orders"):
    return [
        r[0] for r in rows(con, f"select _line from raw.{table} where _file = ? order by 1", [rel])
    ]


def assert_reconciles(con):
    """Every file: read = loaded + rejected; text files: lines = rows + blank + continuation;
    the raw and reject tables hold exactly those counts."""
    bad = rows(
        con,
        """select f.file from raw._files f
        left join (select _file, count(*) n from raw.web_orders group by 1) r on r._file = f.file
        left join (select file, count(*) n from raw._rejects group by 1) j on j.file = f.file
        where f.rows_read <> f.rows_loaded + f.rows_rejected
           or coalesce(r.n, 0) <> f.rows_loaded or coalesce(j.n, 0) <> f.rows_rejected
           or (f.status = 'loaded' and f.format <> 'parquet'
               and f.lines_in_file <> f.rows_read + f.blank_lines + f.continuation_lines)""",
    )
    assert bad == []


def test_wrong_delimiter_is_quarantined(con, landing):
    write(
        landing, f"{DAY}/semi.csv", HEADER.replace(",", ";") + "\n" + GOOD.replace(",", ";") + "\n"
    )
    result = ingest(con, landing)
    status, reason, *_ = file_row(con, f"{DAY}/semi.csv")
    assert status == "quarantined"
    assert reason.startswith("missing required column(s) order_id, order_ts, storefront, status")
    assert "separated by something other than ','" in reason
    assert (result.files_quarantined, result.rows_read) == (1, 0)


def test_truncated_gzip_is_quarantined_and_others_still_load(con, landing):
    data = gzip.compress((HEADER + "\n" + GOOD + "\n").encode())
    write(landing, f"{DAY}/cut.csv.gz", data[: len(data) - 10])
    write(landing, f"{DAY}/ok.csv.gz", data)
    ingest(con, landing)
    assert file_row(con, f"{DAY}/cut.csv.gz")[:2] == (
        "quarantined",
        "truncated gzip archive: Compressed file ended before the end-of-stream marker was reached",
    )
    assert file_row(con, f"{DAY}/ok.csv.gz") == ("loaded", None, 1, 1, 1, 0)
    assert_reconciles(con)


def test_binary_garbage_is_quarantined(con, landing):
    write(landing, f"{DAY}/garbage.csv", bytes(range(256)) * 4)
    write(landing, f"{DAY}/garbage.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(landing, f"{DAY}/garbage.parquet", b"PAR1 this is not parquet")
    ingest(con, landing)
    reason = "binary content (NUL bytes): not a UTF-8 text file"
    assert file_row(con, f"{DAY}/garbage.csv")[:2] == ("quarantined", reason)
    assert file_row(con, f"{DAY}/garbage.jsonl")[:2] == ("quarantined", reason)
    status, reason = file_row(con, f"{DAY}/garbage.parquet")[:2]
    assert status == "quarantined" and reason.startswith("not a readable Parquet file: ")


def test_empty_file_quarantined_header_only_loads_zero_rows(con, landing):
    write(landing, f"{DAY}/empty.csv", b"")
    write(landing, f"{DAY}/header.csv", HEADER + "\n")
    ingest(con, landing)
    assert file_row(con, f"{DAY}/empty.csv")[:2] == ("quarantined", "empty file (0 bytes)")
    assert file_row(con, f"{DAY}/header.csv") == ("loaded", None, 0, 0, 0, 0)


def test_missing_required_column_is_quarantined(con, landing):
    write(landing, f"{DAY}/nostatus.csv", "order_id,order_ts,storefront,gross_amount,net_amount\n")
    ingest(con, landing)
    status, reason, *_ = file_row(con, f"{DAY}/nostatus.csv")
    assert status == "quarantined"
    assert reason.startswith("missing required column(s) status; columns: ")


def test_row_level_rejects_name_column_and_value(con, landing):
    lines = [
        HEADER,
        GOOD,  # 2 ok
        "o2,2024-01-01T10:00:00Z,web,lost,10.00,9.50",  # 3 enum
        "o3,yesterday,web,placed,10.00,9.50",  # 4 timestamp
        "o4,2024-01-01T10:00:00Z,web,placed,-5.00,-5.00",  # 5 rule: negative
        "o5,2024-01-01T10:00:00Z,web,placed,10.001,9.50",  # 6 three decimals
        ",2024-01-01T10:00:00Z,web,placed,1,1",  # 7 required missing
        "o7,2024-01-01T10:00:00Z, App ,SHIPPED,1,1",  # 8 ok: enum trimmed + lower-cased
        "o8,2024-01-01T10:00:00Z,web,placed,1",  # 9 wrong field count
        "o9,2024-01-01T10:00:00Z,web,placed,1,1,extra",  # 10 wrong field count
    ]
    write(landing, f"{DAY}/rows.csv", "\n".join(lines) + "\n")
    ingest(con, landing)
    rel = f"{DAY}/rows.csv"
    assert rejects(con, rel) == [
        (
            3,
            "status",
            "status: 'lost' is not one of placed, shipped, delivered, cancelled, returned",
        ),
        (4, "order_ts", "order_ts: 'yesterday' is not an ISO-8601 timestamp"),
        (5, "gross_amount", "gross_amount is negative (gross_amount = '-5.00')"),
        (
            6,
            "gross_amount",
            "gross_amount: '10.001' is not a decimal amount with at most 2 decimals",
        ),
        (7, "order_id", "order_id: required value is missing"),
        (9, None, "wrong number of fields: the header has 6, this row has 5"),
        (10, None, "wrong number of fields: the header has 6, this row has 7"),
    ]
    assert loaded_lines(con, rel) == [2, 8]
    assert rows(con, "select storefront, status from raw.web_orders where _line = 8") == [
        ("app", "shipped")
    ]
    assert file_row(con, rel) == ("loaded", None, 9, 9, 2, 7)
    raw = rows(con, "select raw_line from raw._rejects where line = 4")[0][0]
    assert raw == "o3,yesterday,web,placed,10.00,9.50"
    assert_reconciles(con)


def test_row_rule_across_columns(con, landing):
    text = (
        "entry_id,entry_ts,loyalty_id,entry_type,points\n"
        "e1,2024-01-01T00:00:00Z,L1,earn,10\n"
        "e2,2024-01-01T00:00:00Z,L1,redeem,10\n"
    )
    write(landing, "loyalty_ledger/2024-01-01/l.csv", text)
    ingest(con, landing, LEDGER)
    assert rejects(con, "loyalty_ledger/2024-01-01/l.csv") == [
        (
            3,
            "points",
            "points sign does not match entry_type (earn/bonus > 0, redeem/expire < 0)"
            " (points = '10')",
        )
    ]


def test_unterminated_quote_swallows_nothing(con, landing):
    lines = [
        HEADER,
        GOOD,  # 2
        'o2,2024-01-01T10:00:00Z,web,placed,"10.00,9.50',  # 3 quote never closed
        "o3,2024-01-01T10:00:00Z,web,placed,1.00,1.00",  # 4
        'o4,2024-01-01T10:00:00Z,web,placed,"2.00",2.00',  # 5 quoted value, fine
        "o5,2024-01-01T10:00:00Z,web,placed,3.00,3.00",  # 6
    ]
    write(landing, f"{DAY}/q.csv", "\n".join(lines) + "\n")
    ingest(con, landing)
    rel = f"{DAY}/q.csv"
    assert rejects(con, rel) == [(3, None, "unterminated quoted field (odd number of '\"')")]
    assert loaded_lines(con, rel) == [2, 4, 5, 6]
    assert file_row(con, rel) == ("loaded", None, 5, 5, 4, 1)
    assert_reconciles(con)


def test_quoted_value_spanning_lines_is_one_record(con, landing):
    text = (
        "order_id,order_ts,storefront,status,gross_amount,net_amount,coupon_code\n"
        'o1,2024-01-01T10:00:00Z,web,placed,1,1,"two\nlines, and ""quotes"""\n'
        "o2,2024-01-01T10:00:00Z,web,placed,1,1,\n"
        "\n"
    )
    write(landing, f"{DAY}/m.csv", text)
    ingest(con, landing)
    assert rows(con, "select order_id, coupon_code, _line from raw.web_orders order by 1") == [
        ("o1", 'two\nlines, and "quotes"', 2),
        ("o2", None, 4),
    ]
    assert rows(
        con, "select lines_in_file, blank_lines, continuation_lines, rows_read from raw._files"
    ) == [(4, 1, 1, 2)]
    assert_reconciles(con)


def test_invalid_utf8_rejects_only_its_line(con, landing):
    data = (HEADER + "\n" + GOOD + "\n").encode() + (
        "o2,2024-01-01T10:00:00Z,web,placed,1,1\n".replace("o2", "o\xe9").encode("latin-1")
    )
    write(landing, f"{DAY}/latin.csv", data)
    ingest(con, landing)
    rel = f"{DAY}/latin.csv"
    assert rejects(con, rel) == [
        (3, None, "invalid UTF-8 byte sequence (the file must be UTF-8 encoded)")
    ]
    assert loaded_lines(con, rel) == [2]


def test_huge_field_loads(con, landing):
    big = "x" * 1_000_000
    text = f'{HEADER},coupon_code\n{GOOD},{big}\n{GOOD.replace("o1", "o2")},"{big}"\n'
    write(landing, f"{DAY}/big.csv", text)
    ingest(con, landing)
    assert rows(con, "select order_id, length(coupon_code) from raw.web_orders order by 1") == [
        ("o1", 1_000_000),
        ("o2", 1_000_000),
    ]


def test_parquet_with_wrong_types(con, landing):
    table = pa.table(
        {
            "ENTRY_ID": ["e1", "e2", "e3"],
            "entry_ts": pa.array(
                [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 11), None], pa.timestamp("us")
            ),
            "loyalty_id": ["L1", "L1", "L1"],
            "entry_type": ["earn", "earn", "earn"],
            "points": ["5", "five", "7"],  # text where the contract says int
        }
    )
    path = landing / "loyalty_ledger/2024-01-01/l.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    ingest(con, landing, LEDGER)
    rel = "loyalty_ledger/2024-01-01/l.parquet"
    assert rejects(con, rel) == [
        (2, "points", "points: 'five' is not an integer"),
        (3, "entry_ts", "entry_ts: required value is missing"),
    ]
    assert rows(con, "select entry_id, entry_ts, points, _line from raw.loyalty_ledger") == [
        ("e1", datetime(2024, 1, 1, 10), 5, 1)
    ]
    raw = rows(con, "select raw_line from raw._rejects where line = 2")[0][0]
    assert '"points":"five"' in raw and '"entry_id":"e2"' in raw
    assert file_row(con, rel) == ("loaded", None, 3, 3, 1, 2)


def test_jsonl_with_invalid_lines(con, landing):
    text = (
        '{"order_id":"j1","Order_TS":"2024-01-01T10:00:00Z","storefront":"web",'
        '"status":"placed","gross_amount":10.5,"net_amount":10,"Promo":"x"}\n'
        '{"order_id": "j2", oops\n'
        "[1, 2]\n"
        "\n"
        '{"order_id":"j3","order_ts":"2024-01-01T10:00:00Z","storefront":"web",'
        '"status":"placed","gross_amount":"1","net_amount":1,"ORDER_ID":"j3b"}\n'
    )
    write(landing, "web_orders/2024-01-01/o.jsonl", text)
    ingest(con, landing)
    rel = "web_orders/2024-01-01/o.jsonl"
    assert rejects(con, rel) == [
        (2, None, "invalid JSON"),
        (3, None, "not a JSON object (a JSON array)"),
        (5, None, "duplicate key (keys are case-insensitive)"),
    ]
    assert rows(
        con, "select order_id, gross_amount, _extra::VARCHAR, _line from raw.web_orders"
    ) == [("j1", 10.5, '{"promo":"x"}', 1)]
    assert file_row(con, rel) == ("loaded", None, 5, 4, 1, 3)
    assert_reconciles(con)


def test_csv_that_is_not_jsonl_is_quarantined(con, landing):
    write(landing, "web_orders/2024-01-01/o.jsonl", HEADER + "\n" + GOOD + "\n")
    ingest(con, landing)
    assert file_row(con, "web_orders/2024-01-01/o.jsonl")[:2] == (
        "quarantined",
        "not JSON Lines: none of its 2 line(s) is a JSON object",
    )
    assert rows(con, "select count(*) from raw._rejects") == [(0,)]


def test_bom_upper_case_reordered_headers_and_extra_column(con, landing):
    text = (
        "\ufeffNet_Amount, ORDER_ID ,Status,StoreFront,Order_Ts,Gross_Amount,Sales_Rep\r\n"
        "9.50,o1,placed,web,2024-01-01T10:00:00Z,10.00,Ann\r\n"
        "1.00,o2,placed,web,2024-01-01T10:00:00Z,1.00,\r\n"
    )
    write(landing, f"{DAY}/bom.csv", text)
    ingest(con, landing)
    got = rows(
        con,
        "select order_id, status, gross_amount, net_amount, _extra::VARCHAR, _line"
        " from raw.web_orders order by 1",
    )
    assert [(r[0], r[1], float(r[2]), float(r[3]), r[4], r[5]) for r in got] == [
        ("o1", "placed", 10.0, 9.5, '{"sales_rep":"Ann"}', 2),
        ("o2", "placed", 1.0, 1.0, '{"sales_rep":null}', 3),
    ]


def test_timestamps_with_offsets_are_converted_to_utc(con, landing):
    # Worked by hand: 23:30 at -05:00 is 04:30 next day UTC; 00:15 at +01:00 is 23:15 the
    # day before; +0530 shifts 10:00 back to 04:30; naive and Z are taken as they are.
    stamps = {
        "a": ("2024-03-10T23:30:00-05:00", datetime(2024, 3, 11, 4, 30)),
        "b": ("2024-01-01T00:15:00+01:00", datetime(2023, 12, 31, 23, 15)),
        "c": ("2024-06-01T10:00:00.250+0530", datetime(2024, 6, 1, 4, 30, 0, 250000)),
        "d": ("2024-06-01 10:00:00", datetime(2024, 6, 1, 10, 0)),
        "e": ("2024-06-01T10:00Z", datetime(2024, 6, 1, 10, 0)),
    }
    body = "".join(f"{k},{ts},web,placed,1,1\n" for k, (ts, _) in stamps.items())
    write(landing, f"{DAY}/tz.csv", HEADER + "\n" + body)
    ingest(con, landing)
    got = dict(rows(con, "select order_id, order_ts from raw.web_orders"))
    assert got == {k: want for k, (_, want) in stamps.items()}


def test_unsupported_extension_and_missing_date_folder(con, landing):
    write(landing, f"{DAY}/notes.txt", "hello\n")
    write(landing, "web_orders/orders.csv", HEADER + "\n" + GOOD + "\n")
    write(landing, f"{DAY}/.partial.csv", "ignored while uploading")
    result = ingest(con, landing)
    assert (result.files_seen, result.files_quarantined, result.files_skipped) == (3, 2, 1)
    assert file_row(con, f"{DAY}/.partial.csv")[:2] == (
        "skipped",
        "a hidden file (its name starts with '.'): not a delivery, not read",
    )
    assert file_row(con, f"{DAY}/notes.txt")[1].startswith("unsupported file type 'notes.txt'")
    assert file_row(con, "web_orders/orders.csv")[1] == (
        "not in a <YYYY-MM-DD> delivery folder: the delivery date is unknown"
    )


def test_source_without_files_has_empty_tables(con, landing):
    ensure_raw_schema(con)
    ensure_raw_schema(con)  # idempotent
    result = ingest(con, landing, SOURCES_BY_NAME["marketing_spend"])
    assert (result.files_seen, result.rows_loaded) == (0, 0)
    tables = {
        r[0] for r in rows(con, "select table_name from duckdb_tables() where schema_name = 'raw'")
    }
    assert tables == {s.name for s in SOURCES} | {"_files", "_rejects"}
    assert rows(con, "select count(*) from raw.marketing_spend") == [(0,)]


def test_typed_columns_and_nulls(con, landing):
    text = (
        "customer_ref,updated_at,birth_date,marketing_consent,is_deleted\n"
        "c1,2024-01-01T00:00:00Z,1990-02-28,Yes,0\n"
        "c2,2024-01-01T00:00:00Z,,,\n"
        "c3,2024-01-01T00:00:00Z,1990-02-30,t,f\n"
        "c4,2024-01-01T00:00:00Z,1990-01-01,maybe,f\n"
    )
    write(landing, "crm_customers/2024-01-01/c.csv", text)
    ingest(con, landing, SOURCES_BY_NAME["crm_customers"])
    assert rows(
        con,
        "select customer_ref, birth_date, marketing_consent, is_deleted from raw.crm_customers"
        " order by 1",
    ) == [("c1", date(1990, 2, 28), True, False), ("c2", None, None, None)]
    assert rejects(con, "crm_customers/2024-01-01/c.csv") == [
        (4, "birth_date", "birth_date: '1990-02-30' is not a YYYY-MM-DD date"),
        (
            5,
            "marketing_consent",
            "marketing_consent: 'maybe' is not a boolean (true/false, 1/0, yes/no, t/f)",
        ),
    ]


def test_gzip_jsonl_loads(con, landing):
    line = (
        '{"order_id":"g1","order_ts":"2024-01-01T10:00:00Z","storefront":"web",'
        '"status":"placed","gross_amount":"2.5","net_amount":"2.50"}\n'
    )
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(line.encode())
    write(landing, "web_orders/2024-01-01/o.jsonl.gz", buf.getvalue())
    ingest(con, landing)
    assert file_row(con, "web_orders/2024-01-01/o.jsonl.gz") == ("loaded", None, 1, 1, 1, 0)
    assert rows(con, "select compression from raw._files") == [("gzip",)]
