import duckdb

from orchestration.lib.summary import (
    CheckTally,
    RunReport,
    feedback_line,
    format_summary,
    model_lines,
    run_report,
    source_table,
)


def test_summary_counts_this_run_and_all_files():
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw._files as select * from (values "
        "('web_orders', 'run-1', 'loaded', 10, 1), ('web_orders', 'run-2', 'loaded', 5, 0), "
        "('web_orders', 'run-2', 'duplicate', null, null), "
        "('web_sessions', 'run-2', 'quarantined', null, null), "
        "('web_sessions', 'run-2', 'skipped', null, null)) "
        "as t(source, batch_id, status, rows_loaded, rows_rejected)"
    )
    rows = source_table(con, "run-2")
    assert rows == [
        ("web_orders", 2, 2, 1, 0, 0, 15, 1),
        ("web_sessions", 2, 0, 0, 1, 1, 0, 0),
    ]

    checks = CheckTally()
    checks.add("raw/web_orders:lines_reconciled_with_raw", passed=True, blocking=True)
    checks.add("marts/fct_orders:not_null_order_id", passed=False, blocking=True)
    checks.add(
        "raw/web_sessions:no_quarantined_files",
        passed=False,
        blocking=False,
        why="web_sessions/2024-01-02/s.csv.gz quarantined: truncated gzip",
    )
    report = RunReport(rows, {"customers": 1234, "orders": 5, "revenue_usd": 1000.5}, [])
    text = format_summary(report, checks, "/p/marts.duckdb")
    assert "customers: 1,234   orders: 5   revenue (USD): 1,000.50" in text
    assert "checks: 1 passed, 1 failed, 1 warnings" in text
    assert "  FAILED: marts/fct_orders:not_null_order_id" in text
    assert (
        "  warning: raw/web_sessions:no_quarantined_files "
        "(web_sessions/2024-01-02/s.csv.gz quarantined: truncated gzip)"
    ) in text
    assert text.endswith("published: /p/marts.duckdb")
    web_orders_line = next(line for line in text.splitlines() if line.startswith("web_orders"))
    assert web_orders_line.split() == ["web_orders", "2", "2", "1", "0", "0", "15", "1"]


def test_model_lines_name_the_clv_and_the_churn_model_of_the_run():
    con = duckdb.connect()
    con.execute("create schema ml")
    con.execute(
        "create table ml.customer_clv as select * from (values "
        "('bgnbd', date '2026-06-30', 100.0), ('bgnbd', date '2026-06-30', 50.5), "
        "('bgnbd', date '2026-05-31', 999.0)) as t(model, as_of_date, clv_365d)"
    )
    con.execute(
        "create table ml.churn_model_metrics as select * from (values "
        "('run-2', 'gradient_boosting', 0.7334, 0.0152), "
        "('run-2', 'baseline_recency', 0.6886, 0.02), ('run-2', 'baseline_bgnbd', 0.7135, 0.03), "
        "('run-1', 'gradient_boosting', 0.5, 0.5)) "
        "as t(run_id, model_name, roc_auc, calibration_error)"
    )
    assert model_lines(con, "run-2", "2026-06-30") == [
        "CLV (bgnbd): 2 customers, 365-day CLV 150.50 USD",
        "churn model ROC AUC 0.733 (calibration error 0.015), baselines: days since last "
        "purchase 0.689, BG/NBD 0.714",
    ]
    assert model_lines(con, "run-3", "2026-07-31") == [
        "CLV: none this run (see the clv_models step)",
        "churn model: none this run (see the churn_model step)",
    ]


def test_feedback_line_counts_the_scored_texts_and_the_most_negative_topic():
    con = duckdb.connect()
    con.execute("create schema ml")
    con.execute(
        "create table ml.feedback_text_scores as select * from (values "
        "('en', 'negative', 'price'), ('en', 'negative', 'delivery'), "
        "('zh', 'negative', 'delivery'), ('zh', 'positive', 'price'), "
        "('und', 'neutral', 'other')) as t(language, sentiment_label, primary_topic)"
    )
    assert feedback_line(con) == (
        "feedback texts: 5 scored (en 2, zh 2), 60.0% negative, most often about delivery"
    )
    con.execute("delete from ml.feedback_text_scores")
    assert feedback_line(con) == "feedback texts: none scored"


def test_a_run_that_built_nothing_shows_no_figures_of_an_earlier_run():
    """The warehouse holds an earlier run's marts; a run that failed before rebuilding them
    (a locked file, a refused landing directory) must not print them as its own."""
    con = duckdb.connect()
    con.execute("create schema raw; create schema marts; create schema ml")
    con.execute(
        "create table raw._files as select 'web_orders' as source, 'run-1' as batch_id, "
        "'loaded' as status, 10 as rows_loaded, 0 as rows_rejected"
    )
    con.execute("create table marts.dim_customers as select 1 as customer_id")
    con.execute("create table marts.fct_orders as select 99.5 as revenue_usd")
    con.execute(
        "create table ml.customer_clv as select 'bgnbd' as model, "
        "date '2026-06-30' as as_of_date, 10.0 as clv_365d"
    )
    con.execute(
        "create table ml.churn_model_metrics as select 'run-1' as run_id, "
        "'gradient_boosting' as model_name, 0.7 as roc_auc, 0.01 as calibration_error"
    )
    nothing = run_report(con, "run-2", "2026-06-30", built=set())
    assert nothing == RunReport([], None, [])
    text = format_summary(nothing, CheckTally(), "not published")
    assert "sources: nothing ingested in this run" in text
    assert "customers, orders, revenue: the marts were not rebuilt in this run" in text
    assert "CLV" not in text and "99.5" not in text

    ingest_only = run_report(con, "run-2", "2026-06-30", built={"raw/web_orders"})
    assert ingest_only.sources == [("web_orders", 0, 1, 0, 0, 0, 10, 0)]
    assert ingest_only.headline is None and ingest_only.models == []

    everything = run_report(
        con,
        "run-2",
        "2026-06-30",
        built={"raw/web_orders", "marts/dim_customers", "marts/fct_orders", "ml/customer_clv"},
    )
    assert everything.headline == {"customers": 1, "orders": 1, "revenue_usd": 99.5}
    assert everything.models[0] == "CLV (bgnbd): 1 customers, 365-day CLV 10.00 USD"
