"""Cross-layer reconciliation checks on real DuckDB files with hand-made layers.

Expected figures are worked out by hand in the comments, not taken from the code.
"""

import os
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.ingestion.assets import ingestion_checks
from orchestration.defs.quality.reconciliation import reconciliation_checks
from orchestration.lib.contract import SOURCES, SOURCES_BY_NAME
from orchestration.lib.ingest import ensure_raw_schema, ingest_source
from orchestration.lib.reconciliation import (
    ReconciliationLimits,
    freshness,
    landing_lines_reconciled,
    revenue_reconciled,
    source_max_age_days,
    touchpoints_explained,
    volume_anomalies,
)
from orchestration.project import load_manifest
from tests.check_runs import evaluate_check


@pytest.fixture
def db(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_raw_schema(con)
    yield con
    con.close()


def insert(con, table: str, columns: str, rows: list[tuple]) -> None:
    marks = ", ".join("?" for _ in columns.split(","))
    con.executemany(f"insert into {table} ({columns}) values ({marks})", rows)


# --- 1. landing lines = raw rows + rejects ---------------------------------------------

# Header + 6 data lines (2..7): W1, W2, W3 whose quoted coupon spans lines 4-5 (one
# continuation line), a blank line, and W4 rejected (status not in the domain):
# 6 data lines = 3 raw rows + 1 reject + 1 blank + 1 continuation line.
WEB_ORDERS_CSV = (
    "order_id,order_ts,storefront,status,gross_amount,net_amount,coupon_code\n"
    "W1,2025-07-01T10:00:00Z,web,placed,10.00,10.00,\n"
    "W2,2025-07-01T11:00:00Z,app,shipped,20.00,20.00,\n"
    'W3,2025-07-01T12:00:00Z,web,placed,30.00,30.00,"two\n'
    'lines"\n'
    "\n"
    "W4,2025-07-01T13:00:00Z,web,lost,40.00,40.00,\n"
)
WEB_FILE = "web_orders/2025-07-01/orders.csv"
RESENT_FILE = "web_orders/2025-07-01/orders_resend.csv"  # same bytes: a duplicate


@pytest.fixture
def ingested(db, tmp_path: Path):
    landing = tmp_path / "landing"
    (landing / WEB_FILE).parent.mkdir(parents=True)
    for rel in (WEB_FILE, RESENT_FILE):
        (landing / rel).write_text(WEB_ORDERS_CSV)
    ingest_source(db, SOURCES_BY_NAME["web_orders"], landing, batch_id="b1")
    return db


def test_loaded_files_reconcile(ingested):
    # The accounting the check relies on, by hand: 6 data lines = 3 + 1 + 1 + 1.
    assert ingested.execute(
        "select status, lines_in_file, rows_loaded, rows_rejected, blank_lines,"
        " continuation_lines from raw._files order by file"
    ).fetchall() == [("loaded", 6, 3, 1, 1, 1), ("duplicate", None, 0, 0, 0, 0)]
    outcome = landing_lines_reconciled(ingested, "web_orders")
    assert outcome.passed, outcome.message
    assert outcome.figures == {"files": 2}


def test_off_by_one_line_count_names_the_file(ingested):
    ingested.execute("update raw._files set lines_in_file = 7 where file = ?", [WEB_FILE])
    outcome = landing_lines_reconciled(ingested, "web_orders")
    assert not outcome.passed and outcome.observed == 1
    assert outcome.details == [
        f"{WEB_FILE}: 7 data lines <> 3 raw rows + 1 rejects + 1 blank + 1 continuation lines"
        " (_files says 3 loaded, 1 rejected)"
    ]


def test_a_raw_row_lost_after_loading_is_caught(ingested):
    ingested.execute("delete from raw.web_orders where order_id = 'W2'")
    outcome = landing_lines_reconciled(ingested)
    assert not outcome.passed
    assert outcome.details[0].startswith(f"{WEB_FILE}: 6 data lines <> 2 raw rows + 1 rejects")


def test_rows_from_a_duplicate_or_unknown_file_fail(ingested):
    ingested.execute(
        "insert into raw.web_orders select * replace (? as _file) from raw.web_orders"
        " where order_id = 'W1'",
        [RESENT_FILE],
    )
    ingested.execute(
        "insert into raw.web_orders select * replace ('web_orders/x/ghost.csv' as _file)"
        " from raw.web_orders where order_id = 'W1' and _file = ?",
        [WEB_FILE],
    )
    outcome = landing_lines_reconciled(ingested, "web_orders")
    assert outcome.details == [
        f"{RESENT_FILE} (duplicate): 1 raw rows and 0 rejects, expected none",
        "web_orders/x/ghost.csv: 1 rows in raw.web_orders from a file raw._files does not record",
    ]
    # Another source's check does not see web_orders' files.
    assert landing_lines_reconciled(ingested, "pos_transactions").passed


# --- 2. revenue in raw = revenue in fct_orders ---------------------------------------

RAW_COLS = "_file, _line, _delivery_date"
WEB_ROWS = [
    # W1 placed, then corrected to cancelled (later updated_at wins): revenue 0.
    ("W1", "2025-07-01 10:00", "2025-07-01 10:00", "placed", None, 100, "f1", 1, "2025-07-01"),
    ("W1", "2025-07-01 10:00", "2025-07-02 09:00", "cancelled", None, 100, "f2", 1, "2025-07-02"),
    # W2 in EUR (lower-case, padded currency): 50.50 EUR.
    ("W2", "2025-07-01 11:00", None, "delivered", " eur ", 50.5, "f1", 2, "2025-07-01"),
    # W3 returned on 07-02: revenue 0.
    ("W3", "2025-07-02 08:00", None, "returned", "USD", 30, "f2", 2, "2025-07-02"),
]
POS_ROWS = [
    ("P1", "2025-07-01 12:00", "sale", 20, "p1", 1, "2025-07-01"),
    ("P2", "2025-07-01 13:00", "return", -5, "p1", 2, "2025-07-01"),
    # P3 re-sent in a later delivery with a corrected amount: 12.00 wins.
    ("P3", "2025-07-01 14:00", "sale", 10, "p1", 3, "2025-07-01"),
    ("P3", "2025-07-01 14:00", "sale", 12, "p2", 1, "2025-07-03"),
]
# By hand: web 07-01 USD 0 (1 order), web 07-01 EUR 50.50, web 07-02 USD 0,
# pos 07-01 USD 20 - 5 + 12 = 27.00 (3 orders).
MART_ROWS = [
    ("web_orders", "W1", "2025-07-01 10:00", "USD", 0),
    ("web_orders", "W2", "2025-07-01 11:00", "EUR", 50.5),
    ("web_orders", "W3", "2025-07-02 08:00", "USD", 0),
    ("pos_transactions", "P1", "2025-07-01 12:00", "USD", 20),
    ("pos_transactions", "P2", "2025-07-01 13:00", "USD", -5),
    ("pos_transactions", "P3", "2025-07-01 14:00", "USD", 12),
]


@pytest.fixture
def orders(db):
    insert(
        db,
        "raw.web_orders",
        "order_id, order_ts, updated_at, status, currency, net_amount, " + RAW_COLS,
        WEB_ROWS,
    )
    insert(
        db,
        "raw.pos_transactions",
        "transaction_id, txn_ts, txn_type, net_amount, " + RAW_COLS,
        POS_ROWS,
    )
    db.execute(
        "create schema marts; create table marts.fct_orders (source varchar, order_id varchar,"
        " ordered_at timestamp, currency varchar, revenue_amount decimal(18, 2))"
    )
    insert(
        db, "marts.fct_orders", "source, order_id, ordered_at, currency, revenue_amount", MART_ROWS
    )
    return db


def test_revenue_matches_per_source_day_and_currency(orders):
    outcome = revenue_reconciled(orders)
    assert outcome.passed, outcome.message
    assert outcome.figures == {
        "EUR": {"raw": 50.5, "fct_orders": 50.5},
        "USD": {"raw": 27.0, "fct_orders": 27.0},
    }


def test_revenue_drift_of_one_names_source_day_currency(orders):
    orders.execute("update marts.fct_orders set revenue_amount = 13 where order_id = 'P3'")
    outcome = revenue_reconciled(orders)
    assert not outcome.passed and outcome.observed == 1
    assert outcome.details == [
        "pos_transactions 2025-07-01 USD: raw 27.00 (3 orders) <> fct_orders 28.00 (3 orders)"
    ]
    # Within a tolerance of 1.00 the same drift is accepted.
    assert revenue_reconciled(orders, ReconciliationLimits(revenue_tolerance=1.0)).passed


def test_an_order_missing_from_the_mart_fails_even_at_zero_revenue(orders):
    orders.execute("delete from marts.fct_orders where order_id = 'W3'")
    outcome = revenue_reconciled(orders)
    assert outcome.details == [
        "web_orders 2025-07-02 USD: raw 0.00 (1 orders) <> fct_orders 0.00 (0 orders)"
    ]


# --- 3. every touchpoint has a customer or a reason -----------------------------------


@pytest.fixture
def touchpoints(db):
    db.execute(
        """
        create schema marts; create schema intermediate; create schema identity;
        create table marts.fct_touchpoints (touchpoint_key varchar, source varchar,
            source_record_id varchar, customer_id varchar);
        create table intermediate.int_identity__record_identifiers (record_key varchar,
            is_resolved_record boolean, identifier_type varchar, identifier_value varchar,
            identifier_key varchar);
        create table identity.excluded_identifiers (identifier_type varchar,
            identifier_value varchar);
        create table intermediate.int_identity__identifier_clusters (identifier_key varchar,
            customer_id varchar);
        create table intermediate.int_customers_forgotten (customer_id varchar);
        """
    )
    insert(
        db,
        "marts.fct_touchpoints",
        "touchpoint_key, source, source_record_id, customer_id",
        [
            ("web_orders:W1", "web_orders", "W1", "C1"),
            ("web_orders:W2", "web_orders", "W2", None),  # only a blocklisted email
            ("app_events:A1", "app_events", "A1", None),  # no identifier at all
            ("survey_responses:S1", "survey_responses", "S1", None),  # forgotten person
            ("crm_customers:forgotten-1", "crm_customers", "forgotten-1", None),  # redacted
        ],
    )
    insert(
        db,
        "intermediate.int_identity__record_identifiers",
        "record_key, is_resolved_record, identifier_type, identifier_value, identifier_key",
        [
            ("web_orders:W1", True, "crm", "R1", "crm:R1"),
            ("web_orders:W2", True, "email", "test@test.com", "email:test@test.com"),
            ("survey_responses:S1", True, "crm", "R9", "crm:R9"),
            ("service_tickets:T1", True, "email", "a@b.com", "email:a@b.com"),
        ],
    )
    insert(
        db,
        "identity.excluded_identifiers",
        "identifier_type, identifier_value",
        [("email", "test@test.com")],
    )
    insert(
        db,
        "intermediate.int_identity__identifier_clusters",
        "identifier_key, customer_id",
        [("crm:R1", "C1"), ("crm:R9", "C9"), ("email:a@b.com", "C1")],
    )
    insert(db, "intermediate.int_customers_forgotten", "customer_id", [("C9",)])
    return db


def test_every_null_customer_has_a_reason(touchpoints):
    outcome = touchpoints_explained(touchpoints)
    assert outcome.passed, outcome.message
    assert outcome.figures == {"forgotten": 2, "no_identifier": 1, "only_excluded_identifiers": 1}


def test_an_unexplained_null_customer_is_named(touchpoints):
    # T1's email resolves to the live customer C1, yet the mart gives it none.
    insert(
        touchpoints,
        "marts.fct_touchpoints",
        "touchpoint_key, source, source_record_id, customer_id",
        [("service_tickets:T1", "service_tickets", "T1", None)],
    )
    outcome = touchpoints_explained(touchpoints)
    assert not outcome.passed and outcome.observed == 1
    assert outcome.details == [
        "service_tickets:T1: no customer, but 1 of its 1 identifiers are not excluded"
        " (they resolve to C1)"
    ]
    assert outcome.figures["unexplained"] == 1


# --- 4. volume and 5. freshness ---------------------------------------------------------

D0 = date(2025, 7, 1)


def deliveries(con, source: str, rows_per_day: dict[int, int]) -> None:
    """One loaded file per day offset from D0 with that many rows read."""
    insert(
        con,
        "raw._files",
        "file, source, delivery_date, status, rows_read",
        [
            (f"{source}/{D0 + timedelta(d)}/f.csv", source, D0 + timedelta(d), "loaded", n)
            for d, n in rows_per_day.items()
        ],
    )


def test_a_day_at_ten_percent_of_baseline_is_flagged(db):
    # Days 0..6: 100 rows; day 7 (the as-of day): 10 rows = 10 % of the median 100.
    deliveries(db, "web_orders", {**{d: 100 for d in range(7)}, 7: 10})
    deliveries(db, "pos_transactions", {**{d: 100 for d in range(7)}, 7: 150})
    outcome = volume_anomalies(db, D0 + timedelta(7))
    assert outcome.details == [
        "web_orders 2025-07-08: 10 rows = 10 % of the trailing 7-day median 100 (allowed 50..200 %)"
    ]
    assert outcome.figures["judged_days"] == 2
    assert volume_anomalies(db, D0 + timedelta(7), source="pos_transactions").passed


def test_volume_judges_only_days_with_a_full_baseline(db):
    # Day 6 has only 6 prior days: not judged; a missing day counts as 0 rows.
    deliveries(db, "web_orders", {**{d: 100 for d in range(6)}, 6: 1})
    assert volume_anomalies(db, D0 + timedelta(6)).figures["judged_days"] == 0
    deliveries(db, "web_orders", {d: 100 for d in range(7, 8)})
    outcome = volume_anomalies(db, D0 + timedelta(8), ReconciliationLimits(volume_check_days=2))
    # Day 7: 100 vs median(100 x6, 1) = 100, fine; day 8 delivered nothing: 0 %.
    assert outcome.details == [
        "web_orders 2025-07-09: 0 rows = 0 % of the trailing 7-day median 100 (allowed 50..200 %)"
    ]


def _manifest_freshness(**rules) -> dict:
    """A manifest whose raw sources carry these dbt freshness rules (none elsewhere)."""
    return {
        "metadata": {"project_name": "p"},
        "sources": {f"source.p.raw.{s.name}": {"freshness": rules.get(s.name)} for s in SOURCES},
    }


def test_a_stale_source_is_named(db):
    deliveries(db, "web_orders", {7: 5})
    deliveries(db, "pos_transactions", {4: 5})
    as_of = D0 + timedelta(7)
    daily = {"warn_after": {"count": 1, "period": "day"}}
    ages = source_max_age_days(
        _manifest_freshness(
            web_orders=daily,
            pos_transactions=daily,
            web_sessions=daily,
            campaign_events={"warn_after": {"count": 72, "period": "hour"}},
        )
    )
    assert ages["pos_transactions"] == 1 and ages["campaign_events"] == 3
    assert ages["experiment_assignments"] is None
    outcome = freshness(db, ages, as_of, source="pos_transactions")
    assert outcome.details == [
        "pos_transactions: latest delivery 2025-07-05 is 3 day(s) before 2025-07-08 "
        "(allowed 1 day(s))"
    ]
    assert freshness(db, ages, as_of, source="web_orders").passed
    # A source never loaded fails, except one without an expectation.
    assert freshness(db, ages, as_of, source="web_sessions").details == [
        "web_sessions: no file loaded yet (expected one within 1 day(s))"
    ]
    assert freshness(db, ages, as_of, source="experiment_assignments").passed
    assert freshness(db, {**ages, "pos_transactions": 3}, as_of, "pos_transactions").passed


def test_freshness_comes_from_the_dbt_sources_and_only_warns():
    ages = source_max_age_days(load_manifest())
    # _raw__sources.yml: daily deliveries, campaigns in bursts, tests set up now and then
    assert ages["web_orders"] == 1 and ages["campaign_events"] == 14
    assert ages["experiment_assignments"] is None
    erroring = {"error_after": {"count": 2, "period": "day"}}
    with pytest.raises(ValueError, match=r"raw\.web_orders: freshness error_after"):
        source_max_age_days(_manifest_freshness(web_orders=erroring))


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("RECON_VOLUME_LOW_RATIO", "0.25")
    monkeypatch.setenv("RECON_VOLUME_SKIP_SOURCES", "campaign_events")
    limits = ReconciliationLimits.from_environ(os.environ)
    assert limits.volume_low_ratio == 0.25
    assert limits.volume_skip_sources == ("campaign_events",)
    monkeypatch.setenv("RECON_VOLUME_SKIP_SOURCES", "web_order")
    with pytest.raises(ValueError, match="web_order is not a contract source"):
        ReconciliationLimits.from_environ(os.environ)


# --- Dagster wiring ---------------------------------------------------------------------


def test_checks_cover_every_source_and_do_not_clash():
    keys = [k for c in reconciliation_checks for k in c.check_keys]
    existing = {k for c in ingestion_checks for k in c.check_keys}
    assert len(set(keys)) == len(keys) == 3 * len(SOURCES) + 2
    assert not set(keys) & existing
    blocking = {s.key.name for c in reconciliation_checks for s in c.check_specs if s.blocking}
    assert blocking == {
        "lines_reconciled_with_raw",
        "revenue_reconciled_with_raw",
        "null_customers_explained",
    }


def test_check_reports_failure_with_its_message(ingested, tmp_path):
    ingested.execute("update raw._files set lines_in_file = 7 where file = ?", [WEB_FILE])
    ingested.close()
    key = dg.AssetCheckKey(dg.AssetKey(["raw", "web_orders"]), "lines_reconciled_with_raw")
    result = evaluate_check(key, reconciliation_checks, tmp_path / "warehouse.duckdb")
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert WEB_FILE in result.description
    assert result.metadata["observed"].value == 1
