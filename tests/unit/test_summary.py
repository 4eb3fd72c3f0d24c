import duckdb

from orchestration.lib.summary import CheckTally, format_summary, source_table


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
    checks.add("raw/web_orders:files_reconciled", passed=True, blocking=True)
    checks.add("marts/fct_orders:not_null_order_id", passed=False, blocking=True)
    checks.add("raw/web_sessions:no_quarantined_files", passed=False, blocking=False)
    text = format_summary(
        rows, {"customers": 1234, "orders": 5, "revenue_usd": 1000.5}, checks, "/p/marts.duckdb"
    )
    assert "customers: 1,234   orders: 5   revenue (USD): 1,000.50" in text
    assert "checks: 1 passed, 1 failed, 1 warnings" in text
    assert "  FAILED: marts/fct_orders:not_null_order_id" in text
    assert "  warning: raw/web_sessions:no_quarantined_files" in text
    assert text.endswith("published: /p/marts.duckdb")
    web_orders_line = next(line for line in text.splitlines() if line.startswith("web_orders"))
    assert web_orders_line.split() == ["web_orders", "2", "2", "1", "0", "15", "1"]
