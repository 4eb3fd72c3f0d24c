"""Ingestion is repeatable: duplicates are recognised by content, re-runs add nothing and a
reload of a delivery date gives the same tables."""

from __future__ import annotations

from datetime import date

from orchestration.lib.contract import SOURCES_BY_NAME
from orchestration.lib.ingest import ingest_source
from orchestration.lib.landing import days_to_load
from tests.ingest_fixtures import rows, valid_csv, write

ORDERS = SOURCES_BY_NAME["web_orders"]
SNAPSHOT = {
    "raw.web_orders": "select * exclude (_batch_id, _ingested_at) from raw.web_orders"
    " order by _file, _line",
    "raw._files": "select * exclude (batch_id, ingested_at) from raw._files order by file",
    "raw._rejects": "select * exclude (batch_id, rejected_at) from raw._rejects"
    " order by file, line",
}


def snapshot(con):
    return {name: rows(con, sql) for name, sql in SNAPSHOT.items()}


def deliver(landing):
    """Day 1: 3 good rows; day 2: 2 good rows + a bad one, and day 1's file again."""
    day1 = valid_csv(ORDERS, range(3))
    write(landing, "web_orders/2024-01-01/orders.csv", day1)
    write(landing, "web_orders/2024-01-02/orders.csv", valid_csv(ORDERS, range(3, 5)) + "bad\n")
    write(landing, "web_orders/2024-01-02/resent.csv", day1)


def test_same_bytes_under_another_name_is_a_duplicate(con, tmp_path):
    landing = tmp_path / "landing"
    deliver(landing)
    result = ingest_source(con, ORDERS, landing, batch_id="b1")
    assert (result.files_loaded, result.files_duplicate, result.rows_loaded) == (2, 1, 5)
    assert rows(con, "select status, reason from raw._files where file like '%resent.csv'") == [
        ("duplicate", "same bytes as web_orders/2024-01-01/orders.csv")
    ]
    assert rows(con, "select count(*), count(distinct order_id) from raw.web_orders") == [(5, 5)]


def test_rerun_without_new_files_changes_nothing(con, tmp_path):
    landing = tmp_path / "landing"
    deliver(landing)
    ingest_source(con, ORDERS, landing, batch_id="b1")
    before = snapshot(con)
    again = ingest_source(con, ORDERS, landing, batch_id="b2")
    assert (again.files_seen, again.files_known, again.files_loaded) == (3, 3, 0)
    assert snapshot(con) == before
    # A new file is picked up on the next run; the known ones stay untouched.
    write(landing, "web_orders/2024-01-03/orders.csv", valid_csv(ORDERS, range(5, 6)))
    third = ingest_source(con, ORDERS, landing, batch_id="b3")
    assert (third.files_loaded, third.files_known, third.rows_loaded) == (1, 3, 1)
    assert rows(con, "select count(*) from raw.web_orders") == [(6,)]


def test_reload_of_a_date_gives_identical_tables(con, tmp_path):
    landing = tmp_path / "landing"
    deliver(landing)
    ingest_source(con, ORDERS, landing, batch_id="b1")
    before = snapshot(con)
    assert len(before["raw._rejects"]) == 1
    result = ingest_source(
        con, ORDERS, landing, batch_id="b2", delivery_dates=[date(2024, 1, 2)], reload=True
    )
    # Day 2's files are loaded again (the re-sent copy is still a duplicate of day 1).
    assert (result.files_seen, result.files_loaded, result.files_duplicate) == (2, 1, 1)
    assert snapshot(con) == before
    assert rows(con, "select distinct _batch_id from raw.web_orders order by 1") == [
        ("b1",),
        ("b2",),
    ]
    full = ingest_source(con, ORDERS, landing, batch_id="b3", reload=True)
    assert full.files_loaded == 2
    assert snapshot(con) == before


def test_only_requested_delivery_dates_are_loaded(con, tmp_path):
    landing = tmp_path / "landing"
    deliver(landing)
    result = ingest_source(con, ORDERS, landing, batch_id="b1", delivery_dates=[date(2024, 1, 1)])
    assert (result.files_seen, result.rows_loaded) == (1, 3)
    assert rows(con, "select distinct _delivery_date from raw.web_orders") == [(date(2024, 1, 1),)]


def test_a_file_resent_under_its_name_with_other_content_replaces_its_rows(con, tmp_path):
    """Against the contract (files are immutable), but it happens: a larger or smaller
    file under a name already loaded replaces that file's rows when its day runs again."""
    landing = tmp_path / "landing"
    deliver(landing)
    ingest_source(con, ORDERS, landing, batch_id="b1")
    write(landing, "web_orders/2024-01-01/orders.csv", valid_csv(ORDERS, range(10, 14)))
    again = ingest_source(con, ORDERS, landing, batch_id="b2", delivery_dates=[date(2024, 1, 1)])
    assert (again.files_loaded, again.rows_loaded) == (1, 4)
    assert rows(
        con,
        "select count(*), min(_batch_id) from raw.web_orders"
        " where _file = 'web_orders/2024-01-01/orders.csv'",
    ) == [(4, "b2")]
    # raw._files records the new version once; the re-sent copy of the old one is now new bytes
    assert rows(
        con, "select count(*) from raw._files where file = 'web_orders/2024-01-01/orders.csv'"
    ) == [(1,)]


def test_days_to_load_are_those_with_files_not_recorded_or_resized(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing)
    write(landing, "web_sessions/2024-01-03/s.csv", "session_id\n")
    recorded = {
        "web_orders/2024-01-01/orders.csv": len(valid_csv(ORDERS, range(3))),
        "web_orders/2024-01-02/orders.csv": 1,  # recorded smaller: it changed
        "web_orders/2024-01-02/resent.csv": len(valid_csv(ORDERS, range(3))),
    }
    assert days_to_load(landing, recorded) == [date(2024, 1, 2), date(2024, 1, 3)]
    recorded["web_orders/2024-01-02/orders.csv"] = (
        (landing / "web_orders/2024-01-02/orders.csv").stat().st_size
    )
    recorded["web_sessions/2024-01-03/s.csv"] = None  # recorded without a size (not read)
    assert days_to_load(landing, recorded) == []
