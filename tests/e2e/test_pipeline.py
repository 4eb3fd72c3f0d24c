"""End to end: generated landing files → `cli run` through Dagster → published marts.

Runs the real CLI in a subprocess against temporary directories, exactly as
`make run` does, then checks the warehouse against the generator's ground truth.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib.contract import SOURCES
from orchestration.lib.publish import OLDEST_READER, READER_CONFIG, publish_marts
from orchestration.lib.settings import REPO_ROOT
from orchestration.text.scoring import SENTIMENT_F1_GOAL, TOPIC_F1_GOAL, evaluate
from orchestration.text.store import scored_against_truth
from tests.e2e.pipeline_cli import cli, isolated_env, run_cli, table_checksums
from tests.engine_tables import table_differences
from tests.reliability.pipeline_process import PipelineProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    env = isolated_env(root)
    run_cli(env, "--customers=400", "--days=270", "--seed=11", module="orchestration.generator")
    first = run_cli(env, "run")
    return root, env, first


SPARK_TEST = "test_the_nightly_on_spark_publishes_what_the_nightly_on_duckdb_published"
# Generous: alone on a loaded machine this run has taken 830 s, and it shares the machine
# with the module's other tests.
SPARK_TIMEOUT_S = 2400


@dataclass(frozen=True)
class SparkNightly:
    root: Path
    run: PipelineProcess
    started: float


@pytest.fixture(scope="module", autouse=True)
def spark_nightly(request, pipeline, tmp_path_factory):
    """The Spark test's nightly (WAREHOUSE_ENGINE=spark, `make run TARGET=spark`), started
    as soon as the first run is done, on a copy of its warehouse directory (its raw and
    landing accounting, its ml tables and publishing key), with copies of the DuckDB
    warehouse and marts it is compared with. The longest run of the suite, a JVM that
    keeps cores busy while the module's other tests wait on their own processes, so it
    runs beside them; the test at the module's end waits for it. Not started when that
    test is not selected."""
    if not any(item.name == SPARK_TEST for item in request.session.items):
        yield None
        return
    root, env, _ = pipeline
    spark_root = tmp_path_factory.mktemp("spark")
    shutil.copytree(root / "warehouse", spark_root / "warehouse")
    shutil.copy2(root / "warehouse" / "warehouse.duckdb", spark_root / "duckdb_warehouse.duckdb")
    shutil.copy2(root / "publish" / "marts.duckdb", spark_root / "duckdb_marts.duckdb")
    spark_env = {
        **env,
        "WAREHOUSE_ENGINE": "spark",
        "WAREHOUSE_DIR": str(spark_root / "warehouse"),
        "PUBLISH_DIR": str(spark_root / "publish"),
        "DAGSTER_HOME": str(spark_root / "dagster"),
    }
    nightly = SparkNightly(spark_root, PipelineProcess(spark_env), time.monotonic())
    yield nightly
    nightly.run.stop()


def test_run_succeeds_and_prints_the_summary(pipeline):
    root, _, first = pipeline
    out = first.stdout
    assert "(nightly): succeeded" in out
    assert f"published: {root / 'publish' / 'marts.duckdb'}" in out
    assert "checks:" in out and "customers:" in out and "revenue (USD):" in out
    assert "CLV (bgnbd):" in out and "churn model ROC AUC" in out
    for source in SOURCES:
        assert source.name in out


def test_every_record_is_loaded_or_quarantined(pipeline):
    root, _, _ = pipeline
    truth = pd.read_parquet(root / "ground_truth" / "records")
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        files = con.execute("select * from raw._files").df()
        loaded = files[files.status == "loaded"]
        assert (loaded.rows_read == loaded.rows_loaded + loaded.rows_rejected).all()
        lines = (
            loaded.rows_read + loaded.blank_lines.fillna(0) + loaded.continuation_lines.fillna(0)
        )
        assert (loaded.lines_in_file == lines).all()
        landed = {
            p.relative_to(root / "landing").as_posix()
            for p in (root / "landing").rglob("*")
            if p.is_file()
        }
        assert set(files.file) == landed, "every landing file is recorded once"
        for source in SOURCES:
            expected = truth[(truth.source == source.name) & ~truth.expect_reject]
            quarantined = set(files[files.status != "loaded"].file)
            expected = expected[~expected.file.isin(quarantined)]
            got = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]
            assert got == len(expected), source.name
        rejected = con.execute("select file, line from raw._rejects").df()
        planted = truth[truth.expect_reject][["file", "line"]]
        merged = planted.merge(rejected, on=["file", "line"], how="left", indicator=True)
        assert (merged._merge == "both").all(), "every planted bad row is in raw._rejects"


def test_published_file_has_the_marts(pipeline):
    root, _, _ = pipeline
    with duckdb.connect(str(root / "publish" / "marts.duckdb"), read_only=True) as con:
        tables = {
            t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
        assert {"fct_orders", "fct_touchpoints"} <= tables
        assert con.execute("select count(*) from fct_orders").fetchone()[0] > 0


# DuckDB releases outside the project's environment (`make test` installs them): the
# oldest the published file promises to open in, and the newest 1.x command line.
COMPAT_READERS = Path(sys.executable).parents[1] / "compat-readers"
READ_EVERY_TABLE = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True, config=json.loads(sys.argv[2]))
tables = [t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()]
counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
print(json.dumps({"version": duckdb.__version__, "counts": counts}))
"""


def test_published_file_opens_in_duckdb_1_0_and_the_1_5_command_line(pipeline):
    root, _, _ = pipeline
    published = root / "publish" / "marts.duckdb"
    assert COMPAT_READERS.is_dir(), f"{COMPAT_READERS} is missing: run `make test`"
    with duckdb.connect(str(published), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        expected = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    assert len(expected) > 20
    old = subprocess.run(
        [sys.executable, "-c", READ_EVERY_TABLE, str(published), json.dumps(READER_CONFIG)],
        env={**os.environ, "PYTHONPATH": str(COMPAT_READERS / f"duckdb-{OLDEST_READER}")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(old.stdout) == {"version": OLDEST_READER, "counts": expected}
    cli = subprocess.run(
        [
            str(COMPAT_READERS / "duckdb-cli" / "duckdb_cli" / "duckdb"),
            "-readonly",
            "-safe",
            "-csv",
            "-noheader",
            str(published),
            "-c",
            "select version(), count(*) from dim_customers",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    version, customers = cli.stdout.strip().split(",")
    assert version.startswith("v1.5.") and int(customers) == expected["dim_customers"]


def test_models_score_every_buyer_and_reach_the_marts(pipeline):
    root, _, _ = pipeline
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        as_of = con.execute("select max(as_of_date) from ml.customer_clv").fetchone()[0]
        buyers = con.execute(
            "select count(distinct customer_id) from marts.fct_orders "
            "where is_purchase and customer_id is not null and order_date <= ?",
            [as_of],
        ).fetchone()[0]
        clv_rows, bad_clv = con.execute(
            "select count(*), count(*) filter (where not (p_alive between 0 and 1) "
            "or clv_365d < 0 or clv_365d is null) from ml.customer_clv where as_of_date = ?",
            [as_of],
        ).fetchone()
        assert buyers > 100 and clv_rows == buyers and bad_clv == 0
        churn_rows = con.execute(
            "select count(*) from ml.customer_churn where as_of_date = ? "
            "and churn_probability between 0 and 1",
            [as_of],
        ).fetchone()[0]
        assert churn_rows == buyers
        models = con.execute("select model_name from ml.churn_model_metrics").fetchall()
        assert sorted(m for (m,) in models) == [
            "baseline_bgnbd",
            "baseline_recency",
            "gradient_boosting",
        ]
    with duckdb.connect(str(root / "publish" / "marts.duckdb"), read_only=True) as con:
        unscored_buyers = con.execute(
            "select count(*) from dim_customers "
            "where first_purchase_at is not null and (clv_365d is null or risk_tier is null)"
        ).fetchone()[0]
        assert unscored_buyers == 0
        # each scored customer in one row of the wide segment table
        assert con.execute("select sum(customers) from rpt_clv_by_segment").fetchone() == (buyers,)
        # the published file describes itself: every table and column has its comment
        undescribed = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where not internal and coalesce(comment, '') = '' "
            "union all select table_name, null from duckdb_tables() "
            "where coalesce(comment, '') = ''"
        ).fetchall()
        assert undescribed == []
        # quasi-identifiers generalised: every combination shared by >= K_ANONYMITY (10)
        smallest = con.execute(
            "select min(n) from (select count(*) as n from dim_customers "
            "group by country_code, city, age_band, gender, generalisation_level)"
        ).fetchone()[0]
        assert smallest >= 10


FEEDBACK_MARTS = {
    "fct_feedback_texts",
    "fct_feedback_topics",
    "rpt_feedback_monthly",
    "rpt_nps_drivers",
    "rpt_feedback_negative_spikes",
    "rpt_detractor_callbacks",
}


def test_every_text_is_scored_as_the_generator_meant_it_and_reaches_the_marts(pipeline):
    root, _, _ = pipeline
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        texts, unscored = con.execute(
            "select count(*), count(*) filter (where scores.touchpoint_key is null) "
            "from intermediate.int_feedback_texts as texts "
            "left join ml.feedback_text_scores as scores using (touchpoint_key, text_hash)"
        ).fetchone()
        compared = scored_against_truth(con, root / "ground_truth")
        words = {
            t
            for (t,) in con.execute(
                "select feedback_text from intermediate.int_feedback_texts"
            ).fetchall()
        }
    assert texts > 100 and unscored == 0
    assert len(compared) == texts
    accuracy = evaluate(compared).set_index("language")
    # the demo's customers live in the US and Europe: Chinese comes from WeChat and Weibo
    # posts alone, too few to judge (tests/unit/test_text_scoring.py judges both)
    assert {"en", "zh"} <= set(accuracy.index) and accuracy.loc["en", "records"] > 100
    assert accuracy.loc["en", "sentiment_macro_f1"] >= SENTIMENT_F1_GOAL, accuracy
    assert accuracy.loc["en", "topic_macro_f1"] >= TOPIC_F1_GOAL, accuracy
    with duckdb.connect(str(root / "publish" / "marts.duckdb"), read_only=True) as con:
        tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
        assert tables >= FEEDBACK_MARTS
        # the words stay internal: no published value is one of the texts
        published_words = [
            (table, column)
            for table, column in con.execute(
                "select table_name, column_name from duckdb_columns() "
                "where not internal and data_type = 'VARCHAR'"
            ).fetchall()
            if words
            & {v for (v,) in con.execute(f'select distinct "{column}" from "{table}"').fetchall()}
        ]
        assert published_words == []
        monthly, facts = con.execute(
            "select (select sum(texts) from rpt_feedback_monthly), "
            "(select count(*) from fct_feedback_topics, dim_dates "
            " where feedback_date = date_day)"
        ).fetchone()
        # every text's topics are in the monthly report, cut at the as-of date
        assert monthly == facts > 0


def run_id_of(output: str) -> str:
    return re.search(r"^run (\S+) \(nightly\): ", output, re.MULTILINE)[1]


def test_run_is_recorded_in_the_dagster_instance(pipeline):
    import dagster as dg

    root, _, first = pipeline
    os.environ["DAGSTER_HOME"] = str(root / "dagster")
    try:
        with dg.DagsterInstance.get() as instance:
            run = instance.get_run_by_id(run_id_of(first.stdout))
            assert run.job_name == "nightly"
            assert run.status == dg.DagsterRunStatus.SUCCESS
            # a dbt model's materialization carries what dbt built: rows and columns
            event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "dim_dates"]))
            metadata = event.asset_materialization.metadata
            schema = metadata["dagster/column_schema"].schema
    finally:
        del os.environ["DAGSTER_HOME"]
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        days = con.execute("select count(*) from marts.dim_dates").fetchone()[0]
    assert metadata["dagster/row_count"].value == days > 300
    date_day = next(c for c in schema.columns if c.name == "date_day")
    assert (date_day.type, date_day.description.startswith("The date.")) == ("DATE", True)


class _Charts(HTMLParser):
    """Of a rendered page: per `data-chart` figure its declared points and the marks
    found in it; and the scripts."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, list[int]] = {}
        self.scripts = 0
        self._chart = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.scripts += tag == "script"
        if "data-chart" in attrs:
            self._chart = attrs["data-chart"]
            self.charts[self._chart] = [int(attrs["data-points"]), 0]
        elif self._chart and "mark" in (attrs.get("class") or "").split():
            self.charts[self._chart][1] += 1

    def handle_endtag(self, tag):
        if tag == "figure":
            self._chart = None


def headless_chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Debian's chromium on a local file; it must be installed (see .ci/run)."""
    binary = shutil.which("chromium")
    assert binary, "chromium is missing: apt-get install -y chromium (.ci/run does)"
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *args, page.as_uri()],
        capture_output=True, text=True, timeout=180, check=True,
    )  # fmt: skip


def test_the_run_builds_a_dashboard_whose_every_chart_has_data_in_chromium(pipeline, tmp_path):
    from orchestration.lib.dashboard import build_dashboard, read_check_results

    root, _, first = pipeline
    page = root / "publish" / "dashboard" / "index.html"
    rendered = headless_chromium(page, tmp_path / "profile", "--dump-dom")
    dom = _Charts()
    dom.feed(rendered.stdout)
    assert set(dom.charts) >= {
        "revenue_by_month", "revenue_by_channel", "conversion_by_channel", "channel_table",
        "clv_by_segment", "risk_tiers", "retention_curve", "points_liability", "tier_members",
        "nps_by_month", "tickets_by_month", "nps_by_segment", "quality_checks_by_layer",
    }  # fmt: skip
    empty = {name: n for name, n in dom.charts.items() if not n[0] > 0 or n[0] != n[1]}
    assert not empty, f"charts without data, or marks not as declared (points, marks): {empty}"
    # Nothing to run or fetch: it works offline, and no script can fail.
    text = page.read_text()
    assert dom.scripts == 0 and not re.search(
        r"<script|<link|@import|url\(|(src|href)=\"http", text
    )
    assert "CONSOLE" not in rendered.stderr and "Uncaught" not in rendered.stderr
    # The data quality section holds this run's results; rebuilding from the same file
    # and results gives the same bytes.
    assert re.search(r"[1-9]\d* expectations in this run", text)
    warehouse = root / "warehouse" / "warehouse.duckdb"
    again = build_dashboard(
        root / "publish" / "marts.duckdb",
        tmp_path / "again",
        read_check_results(warehouse, run_id_of(first.stdout)),
    )
    assert again.path.read_bytes() == page.read_bytes()
    assert len(again.path.read_bytes()) < 200_000


def test_the_run_has_a_quality_report_of_every_table_readable_offline(pipeline):
    from data_quality.suites import layer_suites

    root, _, first = pipeline
    run_id = run_id_of(first.stdout)
    page = root / "warehouse" / "quality" / "runs" / f"{run_id}.html"
    text = page.read_text()
    tables = set(re.findall(r'data-chart="expectations:([^"]+)"', text))
    suites = {s.asset for layer in ("raw", "staging", "marts") for s in layer_suites(layer)}
    assert tables == suites
    assert not re.search(r"<script|<link|@import|url\(|(src|href)=\"http", text)
    index = (root / "warehouse" / "quality" / "index.html").read_text()
    assert f'href="runs/{run_id}.html"' in index


def test_a_models_dbt_tests_run_alone_as_its_one_check(pipeline):
    """As the UI launches a check without its asset: `dbt test` of the built model, one
    verdict for all its tests. A model without its check is refused, never built
    untested."""
    _, env, first = pipeline
    as_of = re.search(r"^as of (\S+), warehouse", first.stdout, re.MULTILINE)[1]
    from orchestration.project import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    model = "model.omnichannel_warehouse.fct_orders"
    attached = sum(
        node["resource_type"] == "test"
        and (
            node.get("attached_node") == model
            or node["config"].get("meta", {}).get("dagster", {}).get("ref", {}).get("name")
            == "fct_orders"
            or node["depends_on"]["nodes"] == [model]
        )
        for node in manifest["nodes"].values()
    )
    selections = ["marts/fct_orders:dbt_tests", "marts/fct_orders"]
    done = run_cli(env, as_of, *selections, module="tests.e2e.run_selection")
    alone, untested = (json.loads(line) for line in done.stdout.splitlines()[-2:])
    assert alone["success"] and alone["materialized"] == [] and alone["failures"] == []
    assert alone["checks"] == {"marts/fct_orders:dbt_tests": {"passed": True, "tests": attached}}
    assert not untested["success"] and untested["materialized"] == []
    assert "dbt tests run with the models they test" in untested["failures"][0]
    # a mart built as of another day without the run context would cut at the wrong date
    day_before = (date.fromisoformat(as_of) - timedelta(days=1)).isoformat()
    done = run_cli(
        env,
        day_before,
        "marts/dim_dates,marts/dim_dates:dbt_tests",
        module="tests.e2e.run_selection",
    )
    stale = json.loads(done.stdout.splitlines()[-1])
    assert not stale["success"] and stale["materialized"] == []
    assert (
        f"this run is as of {day_before}, but intermediate.int_run_context (the as-of date "
        f"every mart cuts at) was built as of {as_of}"
    ) in stale["failures"][0]


def test_rollback_command_swaps_the_published_versions(pipeline, tmp_path):
    root, env, _ = pipeline
    publish = tmp_path / "publish"
    shutil.copytree(root / "publish", publish, symlinks=True)
    (publish / "marts.previous.duckdb").unlink(missing_ok=True)
    (publish / "parquet.previous").unlink(missing_ok=True)
    env = {**env, "PUBLISH_DIR": str(publish)}
    refused = cli(env, "rollback")
    assert refused.returncode == 1
    assert "rollback refused: nothing to roll back to" in refused.stderr

    def inode(name: str) -> int:
        return (publish / name).stat().st_ino

    first = inode("marts.duckdb")
    from orchestration.defs.transform.assets import published_marts

    publish_marts(root / "warehouse" / "warehouse.duckdb", publish, published_marts(), "k")
    second = inode("marts.duckdb")
    assert inode("marts.previous.duckdb") == first != second
    done = run_cli(env, "rollback")
    assert "is the previous version again" in done.stdout
    assert (inode("marts.duckdb"), inode("marts.previous.duckdb")) == (first, second)
    assert os.readlink(publish / "parquet") != os.readlink(publish / "parquet.previous")
    run_cli(env, "rollback")  # twice: undone
    assert (inode("marts.duckdb"), inode("marts.previous.duckdb")) == (second, first)


def test_evaluate_command_writes_the_holdout_report(pipeline):
    root, env, _ = pipeline
    done = run_cli(env, "evaluate")
    reports = list((root / "warehouse" / "evaluation").glob("holdout_*.md"))
    assert len(reports) == 1 and f"written to {reports[0]}" in done.stdout
    text = reports[0].read_text()
    assert text.startswith("### Holdout at ") and "Expected purchases by decile" in text
    # 270 days of data: the churn model's training snapshot, two horizons before the
    # cutoff (itself 90 days before the as-of date), lies before the first delivery.
    assert "Churn model not evaluated: no 'training' rows" in text
    assert not list((root / "warehouse" / "evaluation").glob("scratch_*"))


def test_a_second_run_that_reloads_a_day_changes_nothing(pipeline):
    """(A second run with nothing new takes the last day again: tests/unit/test_cli_landing.)"""
    root, env, _ = pipeline
    published = root / "publish" / "marts.duckdb"
    before = table_checksums(published)
    day = sorted(p.name for p in (root / "landing" / "web_orders").iterdir())[3]
    again = run_cli(env, "reload", day)
    # Same labelled snapshots: the stored churn fit is loaded, and scores as a fit would.
    assert "churn model reused" in again.stderr
    # the day's texts are the texts already scored
    assert re.search(r"\b0 of [\d,]+ texts scored", again.stderr)
    assert table_checksums(published) == before
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        dupes = con.execute(
            "select count(*) from (select file from raw._files group by file having count(*) > 1)"
        ).fetchone()[0]
        assert dupes == 0


def test_published_file_holds_no_personal_data_from_raw(pipeline):
    root, _, _ = pipeline
    with duckdb.connect() as con:
        con.execute(f"attach '{root / 'warehouse' / 'warehouse.duckdb'}' as wh (read_only)")
        con.execute(f"attach '{root / 'publish' / 'marts.duckdb'}' as pub (read_only)")
        con.execute(
            """
            create temp table personal as
            select distinct lower(trim(email)) as value from wh.raw.crm_customers
            union select lower(trim(email)) from wh.raw.web_orders
            union select lower(trim(email)) from wh.raw.campaign_events
            union select regexp_replace(phone, '[^0-9]', '', 'g') from wh.raw.crm_customers
            union select last_name from wh.raw.crm_customers
            """
        )
        con.execute("delete from personal where value is null or length(value) < 6")
        assert con.execute("select count(*) from personal").fetchone()[0] > 100
        columns = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where database_name = 'pub' and data_type = 'VARCHAR'"
        ).fetchall()
        assert columns
        for table, column in columns:
            leaked = con.execute(
                f'select count(*) from pub.main."{table}" as t join personal as p '
                f'on contains(lower(t."{column}"), p.value)'
            ).fetchone()[0]
            assert leaked == 0, f"{table}.{column} holds personal data from raw"


def latest_versions(frame: pd.DataFrame, key: str, version: str | None = None) -> pd.DataFrame:
    """The contract's rule, written again in pandas: latest version, then delivery, file, line."""
    order = [c for c in (version, "_delivery_date", "_file", "_line") if c]
    return frame.sort_values(order, na_position="first").drop_duplicates(key, keep="last")


def test_headline_numbers_match_an_independent_pandas_computation(pipeline):
    """Daily revenue per storefront and the points balance, recomputed from raw rows and the
    seeds with the contract's definitions, equal what the marts report."""
    root, _, _ = pipeline
    rates = pd.read_csv(REPO_ROOT / "seeds" / "currency_rates.csv")
    rate = dict(zip(rates.currency, rates.rate_to_usd, strict=True))
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        web = con.execute("select * from raw.web_orders").df()
        pos = con.execute("select * from raw.pos_transactions").df()
        ledger = con.execute("select * from raw.loyalty_ledger").df()
        as_of = con.execute("select max(report_date) from marts.rpt_loyalty_daily").fetchone()[0]
        channel_daily = con.execute(
            "select activity_date, channel, revenue_usd from marts.rpt_channel_daily"
        ).df()
        outstanding = con.execute(
            "select points_outstanding from marts.rpt_loyalty_daily where report_date = ?",
            [as_of],
        ).fetchone()[0]

    web = latest_versions(web, "order_id", "updated_at")
    web["revenue"] = web.net_amount.where(~web.status.isin(["cancelled", "returned"]), 0)
    web = web.assign(day=web.order_ts.dt.date, channel=web.storefront)
    pos = latest_versions(pos, "transaction_id")
    pos["revenue"] = pos.net_amount.abs().where(pos.txn_type == "sale", -pos.net_amount.abs())
    pos = pos.assign(day=pos.txn_ts.dt.date, channel="store")
    orders = pd.concat([web, pos])[["day", "channel", "revenue", "currency"]]
    fx = orders.currency.fillna("USD").str.upper().map(rate)
    orders["revenue_usd"] = (orders.revenue.astype(float) * fx).round(2).fillna(0)
    expected = orders.groupby(["day", "channel"]).revenue_usd.sum().round(2)
    reported = (
        channel_daily.assign(day=channel_daily.activity_date.dt.date)
        .set_index(["day", "channel"])
        .revenue_usd.astype(float)
    )
    reported = reported[reported.index.isin(expected.index)]
    assert len(expected) > 30
    pd.testing.assert_series_equal(
        reported.sort_index(), expected.sort_index(), check_names=False, atol=0.005
    )

    ledger = latest_versions(ledger, "entry_id")
    sign = ledger.entry_type.map({"earn": 1, "bonus": 1, "redeem": -1, "expire": -1})
    signed = ledger.points.abs() * sign.fillna(0) + ledger.points.where(sign.isna(), 0)
    assert outstanding == signed[ledger.entry_ts.dt.date <= as_of].sum()


# The governed metrics (dbt_project/models/semantic): what `cli metrics query` (MetricFlow)
# answers must equal what the marts hold, recomputed here from the mart tables in SQL.


# The metric layer's queries that the tests compare with the marts: metrics, group-by,
# and whether metric_time stops at the as-of date, as the reports do.
METRIC_QUERIES = {
    "revenue": ("revenue,orders,aov", "metric_time__month,channel", True),
    "roas": ("roas,cac,conversion_rate", "channel,channel__channel_group", True),
    "cx": ("nps,csat,ces", "metric_time__month,survey_response__touchpoint", True),
    "nps_by_segment": (
        "nps,nps_responses,nps_promoters,nps_detractors",
        "customer__rfm_segment,customer__channel_profile",
        True,
    ),
    "points_liability": ("points_liability", "metric_time__month", False),
    "clv": ("clv,churn_risk,customers_with_clv", "customer__rfm_segment", False),
    "retention": (
        "retention_rate,repeat_purchase_rate",
        "retention_cohort_month__months_since_first_purchase,retention_cohort_month__first_channel",
        False,
    ),
}


def mf_query(name: str, as_of: date, out: Path) -> list[str]:
    """The `mf` command line of a query of METRIC_QUERIES, its answer written to `out`."""
    metrics, group_by, through_as_of = METRIC_QUERIES[name]
    args = ["query", "--metrics", metrics, "--group-by", group_by, "--csv", str(out)]
    if through_as_of:
        args += ["--where", f"{{{{ TimeDimension('metric_time', 'day') }}}} <= '{as_of}'"]
    return args


@pytest.fixture(scope="module")
def metric_answers(pipeline) -> dict[str, pd.DataFrame]:
    """The metric layer's answer to each query: the `mf` command line `cli metrics`
    runs, all in one process (tests/e2e/metricflow_batch.py), since `mf` takes about
    10 s to start. The revenue test also asks `cli metrics` itself, as a user does."""
    root, env, _ = pipeline
    as_of = as_of_date(pipeline)
    answers = {name: root / f"metric_{name}.csv" for name in METRIC_QUERIES}
    queries = [mf_query(name, as_of, out) for name, out in answers.items()]
    run_cli(env, json.dumps(queries), module="tests.e2e.metricflow_batch")
    return {name: pd.read_csv(out) for name, out in answers.items()}


def mart_answer(pipeline, sql: str) -> pd.DataFrame:
    root, _, _ = pipeline
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).df()


def as_of_date(pipeline) -> date:
    sql = "select date_day from marts.dim_dates where days_before_as_of = 0"
    return mart_answer(pipeline, sql).date_day.dt.date.item()


def assert_same(metric: pd.DataFrame, mart: pd.DataFrame, keys: list[str], atol: dict):
    """The same slices, and in each the same values: within atol, the mart's rounding (and
    1e-9 of floating-point noise)."""
    for frame in (metric, mart):
        for key in keys:
            if key.startswith("metric_time"):
                frame[key] = pd.to_datetime(frame[key]).dt.date
    joined = metric.merge(mart, on=keys, how="outer", suffixes=("", "_mart"), indicator=True)
    assert (joined._merge == "both").all(), joined[joined._merge != "both"]
    assert len(joined) > 1
    for column, tolerance in atol.items():
        got, want = joined[column].astype(float), joined[f"{column}_mart"].astype(float)
        off = ~(((got - want).abs() <= tolerance + 1e-9) | (got.isna() & want.isna()))
        assert not off.any(), joined.loc[off, [*keys, column, f"{column}_mart"]]


def test_metrics_revenue_orders_and_aov_by_month_and_channel_equal_the_marts(
    pipeline, metric_answers
):
    root, env, _ = pipeline
    as_of = as_of_date(pipeline)
    out = root / "metric_query.csv"
    run_cli(env, "metrics", *mf_query("revenue", as_of, out))
    metric = pd.read_csv(out)
    rows = list(metric.columns)  # in no particular order
    pd.testing.assert_frame_equal(
        metric.sort_values(rows, ignore_index=True),
        metric_answers["revenue"].sort_values(rows, ignore_index=True),
    )
    mart = mart_answer(
        pipeline,
        f"""
        with days as (
            select cast(date_trunc('month', activity_date) as date) as metric_time__month,
                channel, sum(revenue_usd) as revenue, sum(order_count) as orders
            from marts.rpt_channel_daily group by all having sum(order_count) > 0
        ),
        purchases as (
            select cast(date_trunc('month', order_date) as date) as metric_time__month,
                channel, sum(net_amount_usd) / count(*) as aov
            from marts.fct_orders where is_purchase and order_date <= '{as_of}' group by all
        )
        select * from days join purchases using (metric_time__month, channel)
        """,
    )
    keys = ["metric_time__month", "channel"]
    assert_same(metric, mart, keys, {"revenue": 0, "orders": 0, "aov": 0})


def test_metrics_roas_cac_and_conversion_by_channel_equal_the_marts(pipeline, metric_answers):
    metric = metric_answers["roas"]
    mart = mart_answer(
        pipeline,
        """
        select channel, 'storefront' as channel__channel_group,
            sum(revenue_usd) / nullif(sum(spend_usd), 0) as roas,
            sum(spend_usd) / nullif(sum(new_customer_count), 0) as cac,
            sum(converted_session_count) / nullif(sum(session_count), 0) as conversion_rate
        from marts.rpt_channel_daily group by all
        """,
    )
    assert_same(
        metric, mart, ["channel", "channel__channel_group"], dict.fromkeys(mart.columns[2:], 0)
    )


def test_metrics_nps_csat_and_ces_by_month_and_touchpoint_equal_rpt_cx_monthly(
    pipeline, metric_answers
):
    metric = metric_answers["cx"]
    mart = mart_answer(
        pipeline,
        """
        select report_month as metric_time__month, touchpoint as survey_response__touchpoint,
            nps, csat_top2_share as csat, ces_mean as ces
        from marts.rpt_cx_monthly
        where nps_response_count + csat_response_count + ces_response_count > 0
        """,
    )
    # the report rounds: NPS to 0.1, CSAT to 4 decimals, CES to 2
    assert_same(
        metric,
        mart,
        ["metric_time__month", "survey_response__touchpoint"],
        {"nps": 0.05, "csat": 0.00005, "ces": 0.005},
    )


def test_metrics_nps_by_customer_segment_equals_rpt_nps_by_segment(pipeline, metric_answers):
    metric = metric_answers["nps_by_segment"].dropna(
        subset=["customer__rfm_segment", "customer__channel_profile"]
    )
    mart = mart_answer(
        pipeline,
        """
        select rfm_segment as customer__rfm_segment, channel_profile as customer__channel_profile,
            nps, responses as nps_responses, promoters as nps_promoters,
            detractors as nps_detractors
        from marts.rpt_nps_by_segment
        where rfm_segment not in ('(unknown)', '(none)') and channel_profile <> '(unknown)'
        """,
    )
    keys = ["customer__rfm_segment", "customer__channel_profile"]
    # slices with CSAT or CES responses only have no NPS row in the report
    metric = metric[metric.nps_responses > 0]
    counts = {"nps_responses": 0, "nps_promoters": 0, "nps_detractors": 0}
    assert_same(metric, mart, keys, {**counts, "nps": 0.05})


def test_metrics_points_liability_by_month_is_the_balance_of_its_last_day(pipeline, metric_answers):
    metric = metric_answers["points_liability"]
    mart = mart_answer(
        pipeline,
        """
        select cast(date_trunc('month', report_date) as date) as metric_time__month,
            arg_max(liability_usd, report_date) as points_liability
        from marts.rpt_loyalty_daily group by all
        """,
    )
    assert_same(metric, mart, ["metric_time__month"], {"points_liability": 0})


def test_metrics_clv_and_churn_risk_by_segment_equal_rpt_clv_by_segment(pipeline, metric_answers):
    metric = metric_answers["clv"].dropna(subset=["customer__rfm_segment"])
    mart = mart_answer(
        pipeline,
        """
        select rfm_segment as customer__rfm_segment,
            sum(customers_with_clv) as customers_with_clv,
            sum(total_clv_365d_usd) / sum(customers_with_clv) as clv,
            sum(sum_churn_probability) / sum(customers_with_churn_score) as churn_risk,
            count(*) as report_rows
        from marts.rpt_clv_by_segment where rfm_segment <> '(none)' group by all
        """,
    )
    assert mart.customers_with_clv.sum() > 100
    # the report rounds each row's sums: CLV to the cent, churn probability to 4 decimals
    metric = metric.merge(mart[["customer__rfm_segment", "report_rows"]], how="left")
    tolerance = (0.005 * metric.report_rows / metric.customers_with_clv).max()
    assert_same(
        metric.drop(columns="report_rows"),
        mart.drop(columns="report_rows"),
        ["customer__rfm_segment"],
        {"customers_with_clv": 0, "clv": tolerance, "churn_risk": tolerance / 100},
    )


def test_metrics_retention_and_repeat_rate_by_cohort_month_equal_the_cohort_report(
    pipeline, metric_answers
):
    group_by = METRIC_QUERIES["retention"][1]
    metric = metric_answers["retention"]
    mart = mart_answer(
        pipeline,
        """
        select months_since_first_purchase
                as retention_cohort_month__months_since_first_purchase,
            first_channel as retention_cohort_month__first_channel,
            sum(active_customers) / sum(cohort_customers) as retention_rate,
            sum(repeat_customers) / sum(cohort_customers) as repeat_purchase_rate
        from marts.rpt_retention_cohorts group by all
        """,
    )
    assert_same(metric, mart, group_by.split(","), {"retention_rate": 0, "repeat_purchase_rate": 0})


def test_metric_definitions_hold_against_the_warehouse(pipeline):
    """`mf validate-configs`: the semantic manifest, and every measure, dimension and
    metric queried on the built warehouse."""
    _, env, _ = pipeline
    run_cli(env, "metrics", "validate-configs")


def test_a_broken_file_in_tonights_delivery_keeps_the_published_version(pipeline, tmp_path):
    """A truncated file in the newest delivery: the good files still load, the run fails
    and says which file and why, BI keeps the last complete version."""
    root, _, _ = pipeline
    copy = tmp_path / "night"
    for part in ("landing", "warehouse", "publish"):
        shutil.copytree(root / part, copy / part, symlinks=True)
    published = copy / "publish" / "marts.duckdb"
    before = table_checksums(published)
    sessions = copy / "landing" / "web_sessions"
    last_day = max(p.name for p in sessions.iterdir())
    tonight = (date.fromisoformat(last_day) + timedelta(days=1)).isoformat()
    delivered = next(p for p in sessions.glob("*/*") if p.suffix in (".csv", ".gz"))
    text = delivered.read_bytes()
    text = gzip.decompress(text) if delivered.suffix == ".gz" else text
    (sessions / tonight).mkdir()
    (sessions / tonight / "sessions.csv.gz").write_bytes(gzip.compress(text)[:-10])  # cut short

    result = cli(isolated_env(copy), "run")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "(nightly): FAILED" in result.stdout
    assert (
        "FAILED: raw/web_sessions:delivery_complete (rule tonight: a quarantined file of "
        f"the as-of date's delivery blocks; web_sessions/{tonight}/sessions.csv.gz "
        "quarantined: truncated gzip archive"
    ) in result.stdout
    assert table_checksums(published) == before
    alerts = (copy / "dagster" / "alerts.log").read_text()
    assert "delivery_complete" in alerts


def test_the_nightly_on_spark_publishes_what_the_nightly_on_duckdb_published(
    pipeline, spark_nightly
):
    """The nightly job on Spark (fixture `spark_nightly`): it takes the last delivery day
    again, and dbt builds every seed, model and data test on a local SparkSession
    (Spark's stateful models are rebuilt whole, tests/engine_tables.py). Then CLV, churn,
    the quality gates, publishing and the dashboard read Spark's tables. Every published
    mart equals the DuckDB run's, column types included, row for row (numbers to 1e-9,
    build stamps aside); so does every seed and model table. Spark keeps its metastore,
    tables and scratch space under the warehouse directory. Last in the module: it waits
    for the run started beside the other tests."""
    _, _, first = pipeline
    as_of = re.search(r"^as of (\S+), warehouse", first.stdout, re.MULTILINE)[1]
    root, run = spark_nightly.root, spark_nightly.run
    code = run.finish(SPARK_TIMEOUT_S - (time.monotonic() - spark_nightly.started))
    out = run.output
    ended = "timed out" if code is None else f"exited {code}"
    assert code == 0, f"the Spark nightly {ended}:\n{out[-8000:]}"
    assert f"as of {as_of}, warehouse {root / 'warehouse'}" in out
    assert "(dbt on spark)" in out and "(nightly): succeeded" in out
    assert f"published: {root / 'publish' / 'marts.duckdb'}" in out
    assert (root / "publish" / "dashboard" / "index.html").exists()

    published = table_differences(
        root / "duckdb_marts.duckdb",
        root / "publish" / "marts.duckdb",
        ("main",),
        compare_types=True,
    )
    assert len(published) > 25 and "main.dim_customers" in published
    assert {table: why for table, why in published.items() if why} == {}
    built = table_differences(
        root / "duckdb_warehouse.duckdb",
        root / "warehouse" / "warehouse.duckdb",
        ("reference", "staging", "intermediate", "identity", "features", "marts"),
    )
    assert len(built) > 50 and "identity.customer_identifiers" in built
    assert {table: why for table, why in built.items() if why} == {}
    assert {p.name for p in (root / "warehouse" / "spark").iterdir()} >= {
        "metastore_db",
        "tables",
    }
    leftovers = ("metastore_db", "derby.log", "spark-warehouse")
    assert not [name for name in leftovers if (REPO_ROOT / "dbt_project" / name).exists()]
