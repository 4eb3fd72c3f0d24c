"""The data quality report of every run, readable offline: a page per run with every
expectation of every table (dq.check_results), failures first, and an index of the runs.
Drawn with the dashboard's chart, table and style: inline SVG, no script, nothing loaded
from the network (Great Expectations' Data Docs load theirs from CDNs and stay blank
offline). A run's page depends only on its results."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from data_quality.results import RESULTS_TABLE
from orchestration.lib.dashboard import (
    CSS,
    OUTCOMES,
    QualityResult,
    escape,
    layer_rank,
    outcome,
    quality_section,
    run_check_results,
    table,
    write_page,
)

REPORT_DIR = "quality"  # next to the warehouse file: $WAREHOUSE_DIR/quality
RUNS_DIR = "runs"
INDEX_NAME = "index.html"
INDEX_RUNS = 200  # the index links the newest run pages; older pages stay on disk
# The dashboard's style, plus full-width tables whose text columns read left to right.
REPORT_CSS = (
    CSS
    + "header a{color:#fff}.tables figure{margin-bottom:12px;overflow-x:auto}"
    + ".tables th,.tables td{text-align:left;vertical-align:top}"
    + ".runs li{margin:4px 0}"
)


def run_page_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id) + ".html"


def run_page(report_dir: Path, run_id: str) -> Path:
    return report_dir / RUNS_DIR / run_page_name(run_id)


def _page(title: str, heading: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{REPORT_CSS}</style></head><body>"
        f"<header><h1>Data quality</h1><p>{heading}</p></header>"
        f"<main>{body}</main></body></html>\n"
    )


def render_run(run_id: str, results: Sequence[QualityResult]) -> str:
    """One run's page: the summary and failures (as on the dashboard), then each table's
    expectations, failed ones first."""
    charts, summary = quality_section(results)
    by_table: dict[tuple[str, str], list[QualityResult]] = defaultdict(list)
    for r in results:
        by_table[(r.layer, r.asset)].append(r)
    tables = "".join(
        table(
            f"expectations:{asset}",
            f"{asset} ({layer} layer)",
            ["expectation", "outcome", "severity", "observed"],
            [
                [r.check, outcome(r.success, r.severity), r.severity, r.observed_value or ""]
                for r in sorted(
                    rows, key=lambda r: (OUTCOMES.index(outcome(r.success, r.severity)), r.check)
                )
            ],
        )
        for (layer, asset), rows in sorted(
            by_table.items(), key=lambda item: (layer_rank(item[0][0]), item[0][1])
        )
    )
    body = (
        '<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>'
        f'{summary}<div class="charts">{"".join(charts)}</div></section>'
        '<section id="tables" aria-labelledby="tables-h">'
        f'<h2 id="tables-h">Every expectation, by table</h2><div class="tables">{tables}</div>'
        "</section>"
    )
    return _page(
        f"Data quality – run {run_id}",
        f'Run {escape(run_id)} · <a href="../{INDEX_NAME}">all runs</a>',
        body,
    )


def render_index(runs: Sequence[tuple[str, datetime, dict[str, int]]]) -> str:
    """The runs, newest first: when their page was written and their outcome counts."""
    items = "".join(
        f'<li><a href="{RUNS_DIR}/{escape(run_page_name(run_id))}">{escape(run_id)}</a> · '
        f"{written:%Y-%m-%d %H:%M} UTC · {sum(counts.values())} expectations: "
        f"{counts.get('passed', 0)} passed, {counts.get('warning', 0)} warnings, "
        f"{counts.get('failed', 0)} failed</li>"
        for run_id, written, counts in runs
    )
    body = (
        '<section id="runs" aria-labelledby="runs-h"><h2 id="runs-h">Runs</h2>'
        + (f'<ul class="runs">{items}</ul>' if items else '<p class="empty">No run yet.</p>')
        + "</section>"
    )
    return _page("Data quality – runs", "Great Expectations results of each run", body)


def write_quality_report(con: duckdb.DuckDBPyConnection, run_id: str, report_dir: Path) -> Path:
    """Write (or rewrite, as more of its checks finish) the run's page and the index;
    return the run's page."""
    page = write_page(
        run_page(report_dir, run_id), render_run(run_id, run_check_results(con, run_id))
    )
    pages = sorted(
        (report_dir / RUNS_DIR).glob("*.html"), key=lambda p: p.stat().st_mtime, reverse=True
    )[:INDEX_RUNS]
    written = {p.name: datetime.fromtimestamp(p.stat().st_mtime, UTC) for p in pages}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for run, success, severity, n in con.execute(
        f"select run_id, success, severity, count(*) from {RESULTS_TABLE} group by all"
    ).fetchall():
        if run_page_name(run) in written:
            counts[run][outcome(success, severity)] += n
    runs = sorted(
        ((run, written[run_page_name(run)], dict(c)) for run, c in counts.items()),
        key=lambda r: r[1],
        reverse=True,
    )
    write_page(report_dir / INDEX_NAME, render_index(runs))
    return page
