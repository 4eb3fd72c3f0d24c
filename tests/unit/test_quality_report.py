"""The per-run data quality report: every expectation of the run, by layer and table,
failed ones first, and an index of the runs, with nothing loaded from the network."""

import os
import re

import duckdb

from data_quality.results import CheckResult, store_results
from orchestration.lib.quality_report import run_page, run_page_name, write_quality_report

ERROR, WARN = "ERROR", "WARN"


def _result(run, layer, asset, check, success, severity=ERROR, observed=None):
    return CheckResult(run, layer, asset, check, success, observed, severity, None)


RUN_1 = [
    _result("run-1", "marts", "marts.b", "c3", False, observed="2 unexpected of 9 rows"),
    _result("run-1", "marts", "marts.b", "c4", True),
    _result("run-1", "raw", "raw.a", "c1", True),
    _result("run-1", "raw", "raw.a", "c2", False, WARN, "1 unexpected of 3 rows | x"),
    _result("run-1", "staging", "staging.c", "c5", True),
]
RUN_2 = [_result("run-2", "marts", "marts.b", "c3", True)]


def test_a_run_page_lists_every_expectation_by_layer_failed_first(tmp_path):
    with duckdb.connect() as con:
        store_results(con, RUN_1)
        page = write_quality_report(con, "run-1", tmp_path)
    assert page == tmp_path / "runs" / "run-1.html"
    text = page.read_text()
    assert "5 expectations in this run: 3 passed, 1 warnings, 1 failed." in text
    # tables in layer order (raw, staging, marts), each with all its expectations
    tables = re.findall(r'data-chart="expectations:([^"]+)" data-points="(\d+)"', text)
    assert tables == [("raw.a", "2"), ("staging.c", "1"), ("marts.b", "2")]
    raw_table = text[text.index("expectations:raw.a") : text.index("expectations:staging.c")]
    assert re.findall(r'<th scope="row">(c\d)</th><td>(\w+)</td>', raw_table) == [
        ("c2", "warning"),
        ("c1", "passed"),
    ]
    assert "1 unexpected of 3 rows | x" in raw_table
    assert not re.search(r"https?://|<script|<link", text)  # readable offline


def test_the_index_lists_the_runs_newest_first_with_their_counts(tmp_path):
    with duckdb.connect() as con:
        store_results(con, RUN_1 + RUN_2)
        first = write_quality_report(con, "run-1", tmp_path)
        os.utime(first, (1_700_000_000, 1_700_000_000))  # 2023-11-14 22:13 UTC
        write_quality_report(con, "run-2", tmp_path)
    index = (tmp_path / "index.html").read_text()
    runs = re.findall(r'<li><a href="runs/([^"]+)">([^<]+)</a> · ([^<]+)</li>', index)
    assert [(href, run) for href, run, _ in runs] == [
        ("run-2.html", "run-2"),
        ("run-1.html", "run-1"),
    ]
    assert runs[0][2].endswith("1 expectations: 1 passed, 0 warnings, 0 failed")
    assert runs[1][2] == "2023-11-14 22:13 UTC · 5 expectations: 3 passed, 1 warnings, 1 failed"
    assert not re.search(r"https?://|<script|<link", index)


def test_a_run_id_is_a_safe_file_name(tmp_path):
    assert run_page_name("nightly/2024-01-01 run") == "nightly_2024-01-01_run.html"
    assert run_page(tmp_path, "../x").parent == tmp_path / "runs"
