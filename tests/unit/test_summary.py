import duckdb

from orchestration.lib.summary import CheckTally, format_summary, model_lines, source_table


def test_summary_counts_this_run_and_all_files():
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw._files as select * from (values "
        "('web_orders', 'run-1', 'loaded', 10, 1), ('web_orders', 'run-2', 'loaded', 5, 0), "
        "('web_orders', 'run-2', 'duplicate', null, null), "
        "('web_sessions', 'run-2', 'quarantined', null, null)) "
        "as t(source, batch_id, status, rows_loaded, rows_rejected)"
    )
    rows = source_table(con, "run-2")
    assert rows == [("web_orders", 2, 2, 1, 0, 15, 1), ("web_sessions", 1, 0, 0, 1, 0, 0)]

    checks = CheckTally()
    checks.add("raw/web_orders:lines_reconciled_with_raw", passed=True, blocking=True)
    checks.add("marts/fct_orders:not_null_order_id", passed=False, blocking=True)
    checks.add(
        "raw/web_sessions:no_quarantined_files",
        passed=False,
        blocking=False,
        why="web_sessions/2024-01-02/s.csv.gz quarantined: truncated gzip",
    )
    text = format_summary(
        rows, {"customers": 1234, "orders": 5, "revenue_usd": 1000.5}, checks, "/p/marts.duckdb"
    )
    assert "customers: 1,234   orders: 5   revenue (USD): 1,000.50" in text
    assert "checks: 1 passed, 1 failed, 1 warnings" in text
    assert "  FAILED: marts/fct_orders:not_null_order_id" in text
    assert (
        "  warning: raw/web_sessions:no_quarantined_files "
        "(web_sessions/2024-01-02/s.csv.gz quarantined: truncated gzip)"
    ) in text
    assert text.endswith("published: /p/marts.duckdb")
    web_orders_line = next(line for line in text.splitlines() if line.startswith("web_orders"))
    assert web_orders_line.split() == ["web_orders", "2", "2", "1", "0", "15", "1"]


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
        "('run-2', 'gradient_boosting', 0.7334), ('run-2', 'baseline_recency', 0.6886), "
        "('run-2', 'baseline_bgnbd', 0.7135), ('run-1', 'gradient_boosting', 0.5)) "
        "as t(run_id, model_name, roc_auc)"
    )
    assert model_lines(con, "run-2", "2026-06-30") == [
        "CLV (bgnbd): 2 customers, 365-day CLV 150.50 USD",
        "churn model ROC AUC 0.733, baselines: days since last purchase 0.689, BG/NBD 0.714",
    ]
    assert model_lines(con, "run-3", "2026-07-31") == [
        "CLV: none this run (see the clv_models step)",
        "churn model: none this run (see the churn_model step)",
    ]
