"""Bad-input catalogue, part two: the kinds that tests/unit/test_ingest_bad_input.py does not
cover yet, across sources and formats. Every case states the outcome worked out by hand from
the fixture text (quarantined file or rejected row, with file, line, column and value in the
reason) and that every line is accounted for exactly once."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.lib.contract import SOURCES, SOURCES_BY_NAME
from orchestration.lib.ingest import ensure_raw_schema, ingest_source
from tests.ingest_fixtures import rows, valid_csv, valid_row, write
from tests.unit.test_ingest_bad_input import GOOD, HEADER, file_row, rejects

ORDERS = SOURCES_BY_NAME["web_orders"]
DAY = "web_orders/2024-01-01"


def ingest_all(con, landing):
    """Every source that has a landing folder (all raw tables exist either way)."""
    ensure_raw_schema(con)
    for source in SOURCES:
        if (landing / source.name).is_dir():
            ingest_source(con, source, landing, batch_id="b1")


def assert_accounted(con):
    """Per file: read = loaded + rejected, the raw tables and raw._rejects hold exactly those
    rows, text files' lines are all counted, and no (file, line) is stored twice."""
    landed = " union all ".join(f"select _file, _line from raw.{s.name}" for s in SOURCES)
    bad = rows(
        con,
        f"""with landed as ({landed}),
        per_file as (select _file as file, count(*) as n from landed group by 1),
        rejected as (select file, count(*) as n from raw._rejects group by 1)
        select f.file from raw._files f
        left join per_file l using (file) left join rejected r using (file)
        where f.rows_read <> f.rows_loaded + f.rows_rejected
           or coalesce(l.n, 0) <> f.rows_loaded or coalesce(r.n, 0) <> f.rows_rejected
           or (f.status = 'loaded' and f.format <> 'parquet'
               and f.lines_in_file <> f.rows_read + f.blank_lines + f.continuation_lines)""",
    )
    assert bad == []
    twice = rows(
        con,
        f"""select _file, _line from (
            {landed} union all select file, line from raw._rejects
        ) group by all having count(*) > 1""",
    )
    assert twice == []


def csv_with(source, column: str, value: str) -> str:
    """A one-row CSV of `source`, valid except for `column`."""
    row = valid_row(source, 1)
    row[source.column_names.index(column)] = value
    return ",".join(source.column_names) + "\n" + ",".join(row) + "\n"


ENUM_COLUMNS = [(s, c) for s in SOURCES for c in s.columns if c.type == "enum"]


@pytest.mark.parametrize(
    ("source", "column"), ENUM_COLUMNS, ids=[f"{s.name}.{c.name}" for s, c in ENUM_COLUMNS]
)
def test_unknown_enum_value_is_rejected_in_every_source(con, landing, source, column):
    rel = f"{source.name}/2024-01-01/enum.csv"
    write(landing, rel, csv_with(source, column.name, "Bogus"))
    ingest_all(con, landing)
    assert rejects(con, rel) == [
        (2, column.name, f"{column.name}: 'Bogus' is not one of {', '.join(column.values)}")
    ]
    assert_accounted(con)


def test_unknown_enum_in_jsonl_and_parquet(con, landing):
    text = (
        '{"event_id":"e1","event_ts":"2024-01-01T10:00:00Z","device_id":"d1",'
        '"event_type":"teleport"}\n'
        '{"event_id":"e2","event_ts":"2024-01-01T10:00:00Z","device_id":"d1",'
        '"event_type":"app_open","platform":"symbian"}\n'
    )
    write(landing, "app_events/2024-01-01/e.jsonl", text)
    table = pa.table({"event_id": ["p1"], "event_ts": ["2024-01-01T10:00:00Z"],
                      "device_id": ["d1"], "event_type": ["warp"]})  # fmt: skip
    path = landing / "app_events/2024-01-01/e.parquet"
    pq.write_table(table, path)
    ingest_all(con, landing)
    assert rejects(con, "app_events/2024-01-01/e.jsonl") == [
        (1, "event_type", "event_type: 'teleport' is not one of " + ", ".join(
            SOURCES_BY_NAME["app_events"].column("event_type").values)),
        (2, "platform", "platform: 'symbian' is not one of ios, android"),
    ]  # fmt: skip
    assert [r[:2] for r in rejects(con, "app_events/2024-01-01/e.parquet")] == [(1, "event_type")]
    assert_accounted(con)


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30T10:00:00Z",  # no such day
        "2024-01-01T25:00:00Z",  # no such hour
        "1704103200",  # epoch seconds
        "01/02/2024 10:00",  # US style, ambiguous
        "2024-01-01",  # a date where a timestamp is due
    ],
)
def test_unparseable_timestamp_is_rejected(con, landing, value):
    write(landing, f"{DAY}/ts.csv", f"{HEADER}\n{GOOD}\no2,{value},web,placed,1,1\n")
    ingest_all(con, landing)
    assert rejects(con, f"{DAY}/ts.csv") == [
        (3, "order_ts", f"order_ts: '{value}' is not an ISO-8601 timestamp")
    ]
    assert_accounted(con)


def test_unparseable_date_is_rejected(con, landing):
    rel = "marketing_spend/2024-01-01/s.csv"
    write(landing, rel, csv_with(SOURCES_BY_NAME["marketing_spend"], "spend_date", "2024/01/01"))
    ingest_all(con, landing)
    assert rejects(con, rel) == [
        (2, "spend_date", "spend_date: '2024/01/01' is not a YYYY-MM-DD date")
    ]


# (source, column, bad value, other columns changed to make the row otherwise valid, reason)
NEGATIVES = [
    ("web_orders", "item_count", "-2", {}, "item_count is negative"),
    ("web_orders", "discount_amount", "-1.00", {}, "discount_amount is negative"),
    ("web_orders", "net_amount", "-1.00", {}, "net_amount is negative"),
    ("pos_transactions", "net_amount", "-3.00", {"txn_type": "sale"},
     "net_amount must be negative for a return and not negative for a sale"),
    ("pos_transactions", "net_amount", "3.00", {"txn_type": "return"},
     "net_amount must be negative for a return and not negative for a sale"),
    ("pos_transactions", "item_count", "-1", {}, "item_count is negative"),
    ("web_sessions", "pageviews", "-4", {}, "pageviews is negative"),
    ("service_tickets", "first_response_minutes", "-0.5", {},
     "first_response_minutes is negative"),
    ("service_tickets", "reopened_count", "-1", {}, "reopened_count is negative"),
    ("marketing_spend", "spend", "-10.00", {}, "spend is negative"),
    ("marketing_spend", "impressions", "-100", {}, "impressions is negative"),
    ("marketing_spend", "clicks", "-1", {}, "clicks is negative"),
    ("loyalty_ledger", "points", "-5", {"entry_type": "bonus"},
     "points sign does not match entry_type (earn/bonus > 0, redeem/expire < 0)"),
    ("loyalty_ledger", "points", "5", {"entry_type": "expire"},
     "points sign does not match entry_type (earn/bonus > 0, redeem/expire < 0)"),
    ("survey_responses", "score", "11", {"survey_type": "nps"},
     "score outside the survey's scale (nps 0..10, csat 1..5, ces 1..7)"),
    ("survey_responses", "score", "0", {"survey_type": "csat"},
     "score outside the survey's scale (nps 0..10, csat 1..5, ces 1..7)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("source_name", "column", "value", "others", "reason"),
    NEGATIVES,
    ids=[f"{n[0]}.{n[1]}={n[2]}" for n in NEGATIVES],
)
def test_negative_or_out_of_range_quantity_is_rejected(
    con, landing, source_name, column, value, others, reason
):
    source = SOURCES_BY_NAME[source_name]
    row = valid_row(source, 1)
    for name, other in {**others, column: value}.items():
        row[source.column_names.index(name)] = other
    rel = f"{source_name}/2024-01-01/n.csv"
    write(landing, rel, ",".join(source.column_names) + "\n" + ",".join(row) + "\n")
    ingest_all(con, landing)
    assert rejects(con, rel) == [(2, column, f"{reason} ({column} = '{value}')")]
    assert_accounted(con)


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "1e3", '"1,000.00"', "$5", "99999999999999999999"]
)
def test_money_that_is_not_a_plain_decimal_is_rejected(con, landing, value):
    write(landing, f"{DAY}/m.csv", f"{HEADER}\no1,2024-01-01T10:00:00Z,web,placed,{value},1\n")
    ingest_all(con, landing)
    shown = value.strip('"')
    assert rejects(con, f"{DAY}/m.csv") == [
        (2, "gross_amount", f"gross_amount: '{shown}' is not a decimal amount with at most 2 "
         "decimals")
    ]  # fmt: skip
    assert_accounted(con)


def test_duplicate_natural_keys_in_one_file_and_across_files_are_all_kept_with_lineage(
    con, landing
):
    """Not an error by the contract: every version lands in raw with its own file and line,
    and staging keeps the latest (see tests/reliability/test_late_and_corrected_data.py)."""
    write(landing, f"{DAY}/a.csv", f"{HEADER}\n{GOOD}\n{GOOD.replace('9.50', '8.00')}\n")
    write(landing, "web_orders/2024-01-02/b.csv", f"{HEADER}\n{GOOD.replace('9.50', '7.00')}\n")
    ingest_all(con, landing)
    assert rows(con, "select _file, _line, net_amount from raw.web_orders order by 1, 2") == [
        (f"{DAY}/a.csv", 2, 9.5),
        (f"{DAY}/a.csv", 3, 8.0),
        ("web_orders/2024-01-02/b.csv", 2, 7.0),
    ]
    assert rows(con, "select distinct status from raw._files") == [("loaded",)]
    assert_accounted(con)


def test_same_file_delivered_on_two_days_is_loaded_once(con, landing):
    text = valid_csv(ORDERS, range(3))
    write(landing, f"{DAY}/o.csv", text)
    write(landing, "web_orders/2024-01-05/o_again.csv", text)
    ingest_all(con, landing)
    assert file_row(con, "web_orders/2024-01-05/o_again.csv")[:2] == (
        "duplicate",
        f"same bytes as {DAY}/o.csv",
    )
    assert rows(con, "select count(*), count(distinct order_id) from raw.web_orders") == [(3, 3)]
    assert_accounted(con)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2999-01-01T10:00:00Z", "is more than 366 days after the delivery date 2024-01-01"),
        ("0001-01-01T00:00:00Z", "is before 1900-01-01"),
    ],
)
def test_far_future_or_ancient_event_date_is_rejected(con, landing, value, problem):
    write(landing, f"{DAY}/f.csv", f"{HEADER}\n{GOOD}\no2,{value},web,placed,1,1\n")
    ingest_all(con, landing)
    assert rejects(con, f"{DAY}/f.csv") == [(3, "order_ts", f"order_ts: '{value}' {problem}")]
    assert rows(con, "select order_id from raw.web_orders") == [("o1",)]


def test_utf16_file_is_quarantined(con, landing):
    write(landing, f"{DAY}/u16.csv", f"{HEADER}\n{GOOD}\n".encode("utf-16"))
    ingest_all(con, landing)
    assert file_row(con, f"{DAY}/u16.csv")[:2] == (
        "quarantined",
        "binary content (NUL bytes): not a UTF-8 text file",
    )
    assert rows(con, "select count(*) from raw.web_orders") == [(0,)]


def test_windows_1252_file_rejects_each_non_ascii_line_and_loads_the_rest(con, landing):
    lines = [HEADER, GOOD, "Zoë,2024-01-01T10:00:00Z,web,placed,1,1", "o3" + GOOD[2:],
             "o4,2024-01-01T10:00:00Z,web,placed,1,1,€"]  # fmt: skip
    write(landing, f"{DAY}/w.csv", ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    ingest_all(con, landing)
    reason = "invalid UTF-8 byte sequence (the file must be UTF-8 encoded)"
    assert rejects(con, f"{DAY}/w.csv") == [(3, None, reason), (5, None, reason)]
    assert rows(con, "select order_id, _line from raw.web_orders order by 2") == [
        ("o1", 2),
        ("o3", 4),
    ]
    raw = rows(con, "select raw_line from raw._rejects where line = 3")[0][0]
    assert raw.startswith("Zo") and raw.endswith(",1,1")  # the bad line is kept for a look
    assert_accounted(con)


def test_gzip_name_without_gzip_content_and_empty_archive_are_quarantined(con, landing):
    write(landing, f"{DAY}/plain.csv.gz", f"{HEADER}\n{GOOD}\n")
    write(landing, f"{DAY}/nothing.csv.gz", gzip.compress(b""))
    ingest_all(con, landing)
    assert file_row(con, f"{DAY}/plain.csv.gz")[:2] == (
        "quarantined",
        "not a readable gzip archive: Not a gzipped file (b'or')",
    )
    assert file_row(con, f"{DAY}/nothing.csv.gz")[:2] == ("quarantined", "empty file (no content)")
    assert_accounted(con)


def test_header_naming_a_column_twice_is_quarantined(con, landing):
    write(landing, f"{DAY}/d.csv", f"order_id,{HEADER.upper()}\no0,{GOOD}\n")
    ingest_all(con, landing)
    assert file_row(con, f"{DAY}/d.csv")[:2] == (
        "quarantined",
        "duplicate column(s) order_id (names are case-insensitive)",
    )


def test_parquet_without_required_columns_is_quarantined_and_empty_parquet_loads(con, landing):
    pq.write_table(
        pa.table({"order_id": ["p1"], "order_ts": ["2024-01-01T10:00:00Z"]}),
        write(landing, f"{DAY}/few.parquet", b""),
    )
    empty = {c: pa.array([], pa.string()) for c in HEADER.split(",")}
    pq.write_table(pa.table(empty), write(landing, f"{DAY}/none.parquet", b""))
    ingest_all(con, landing)
    assert file_row(con, f"{DAY}/few.parquet")[:2] == (
        "quarantined",
        "missing required column(s) storefront, status, gross_amount, net_amount; "
        "columns: ['order_id', 'order_ts']",
    )
    assert file_row(con, f"{DAY}/none.parquet") == ("loaded", None, 0, 0, 0, 0)


def test_jsonl_values_of_the_wrong_json_type_are_rejected(con, landing):
    base = '"storefront":"web","status":"placed","net_amount":1'
    text = (
        f'{{"order_id":"j1","order_ts":1704103200,"gross_amount":1,{base}}}\n'
        f'{{"order_id":"j2","order_ts":"2024-01-01T10:00:00Z","gross_amount":true,{base}}}\n'
        f'{{"order_id":"j3","order_ts":"2024-01-01T10:00:00Z","gross_amount":[1],{base}}}\n'
    )
    write(landing, f"{DAY}/t.jsonl", text)
    ingest_all(con, landing)
    assert rejects(con, f"{DAY}/t.jsonl") == [
        (1, "order_ts", "order_ts: '1704103200' is not an ISO-8601 timestamp"),
        (2, "gross_amount", "gross_amount: 'true' is not a decimal amount with at most 2 decimals"),
        (3, None, "a JSON object or array where a single value is due: gross_amount"),
    ]
    assert_accounted(con)


def test_jsonl_object_where_an_id_is_due_is_rejected(con, landing):
    text = (
        '{"order_id":{"x":1},"order_ts":"2024-01-01T10:00:00Z","storefront":"web",'
        '"status":"placed","gross_amount":1,"net_amount":1}\n'
    )
    # an unknown key may hold anything: it is kept in _extra
    extra = '{"order_id":"o2","order_ts":"2024-01-01T10:00:00Z","storefront":"web",'
    extra += '"status":"placed","gross_amount":1,"net_amount":1,"meta":{"a":[1]}}\n'
    write(landing, f"{DAY}/o.jsonl", text + extra)
    ingest_all(con, landing)
    assert rejects(con, f"{DAY}/o.jsonl") == [
        (1, None, "a JSON object or array where a single value is due: order_id")
    ]
    assert rows(con, "select order_id, _extra from raw.web_orders") == [
        ("o2", '{"meta":"{\\"a\\":[1]}"}')
    ]
