"""GX suites against hand-made rows in a real DuckDB file: bad rows are caught, clean
ones pass, results land in dq.check_results, Data Docs are written, and an ERROR
failure blocks what is downstream in Dagster."""

from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_quality.results import MISSING_TABLE_CHECK, ValidationScope, run_layer
from data_quality.suites import ERROR, WARN, TableSuite, layer_suites, unique
from orchestration.defs.quality.expectations import (
    RAW_CHECK_NAME,
    RESULTS_KEY,
    check_results,
    gx_gate,
    gx_raw,
)
from orchestration.defs.resources import SettingsResource, WarehouseResource
from orchestration.lib.contract import SOURCES_BY_NAME, raw_table_ddl
from orchestration.lib.run_scope import RunScope
from orchestration.lib.settings import REPO_ROOT, load_settings
from orchestration.project import load_manifest

MARTS_TABLES = ["marts.customer_rfm", "marts.dim_customers"]
AS_OF = {"as_of_date": "2024-03-01"}
PURCHASED = {"has_purchase": True, "channel_profile": "online_only", "recency_days": 3}
CLEAN_RFM = [
    {"customer_id": "K1", **AS_OF, **PURCHASED, "frequency_days": 4, "monetary_usd": 500,
     "r_score": 5, "f_score": 5, "m_score": 4, "fm_score": 5, "rfm_segment": "Champions",
     "value_tier": "important-value"},
    {"customer_id": "K2", **AS_OF, **PURCHASED, "frequency_days": 1, "monetary_usd": 5,
     "r_score": 1, "f_score": 1, "m_score": 1, "fm_score": 1, "rfm_segment": "Lost",
     "value_tier": "general-value"},
    # no purchase: no scores, no segment
    {"customer_id": "K3", **AS_OF, "has_purchase": False, "channel_profile": "no_purchase",
     "frequency_days": 0, "monetary_usd": 0, "value_tier": "churn-risk"},
]  # fmt: skip
PROFILE = {
    "country_code": "US", "city": "other", "age_band": "25-34", "gender": "unknown",
    "generalisation_level": 1, "online_to_store_purchases": 0, "open_ticket_count": 0,
}  # fmt: skip
BUYER = {**PROFILE, "channel_profile": "online_only"}
CLEAN_DIM = [
    {"customer_id": "K1", **BUYER, "p_alive": 0.8, "churn_probability": 0.25, "risk_tier": "low",
     "clv_365d": 123.45, "lifetime_orders": 3, "latest_nps_score": 9, "latest_csat_score": 5},
    {"customer_id": "K2", **BUYER, "p_alive": 0.0, "churn_probability": 1.0, "risk_tier": "high",
     "clv_365d": 0.0, "lifetime_orders": 1, "latest_nps_score": 0, "latest_csat_score": 1},
    {"customer_id": "K3", **PROFILE, "channel_profile": "no_purchase", "lifetime_orders": 0},
]  # fmt: skip


def _mart(con, name: str, rows: list[dict]) -> None:
    """A mart as its dbt contract declares it (every column, its type), with these rows."""
    manifest = load_manifest()
    columns = manifest["nodes"][f"model.omnichannel_warehouse.{name}"]["columns"]
    declared = ", ".join(f"{c} {column['data_type']}" for c, column in columns.items())
    con.execute(f"create table marts.{name} ({declared})")
    for row in rows:
        con.execute(
            f"insert into marts.{name} ({', '.join(row)}) values ({', '.join('?' * len(row))})",
            list(row.values()),
        )


def _marts(path: Path, bad: bool) -> None:
    rfm, dim = list(CLEAN_RFM), list(CLEAN_DIM)
    if bad:
        scored = {**CLEAN_RFM[0], "customer_id": "K4"}
        rfm += [
            {**CLEAN_RFM[0], "rfm_segment": "Loyal"},  # duplicate (customer_id, as_of_date)
            {**scored, "r_score": 6},  # r_score 6
            {**scored, "customer_id": "K5", "rfm_segment": "Rising Stars"},  # not in the seed
        ]
        dim += [
            {**CLEAN_DIM[0], "customer_id": "K6", "p_alive": 1.2},  # p_alive above 1
            {**CLEAN_DIM[0], "customer_id": "K7", "clv_365d": -5.0},  # negative CLV
        ]
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        _mart(con, "customer_rfm", rfm)
        _mart(con, "dim_customers", dim)


def _suite_size(*assets: str) -> int:
    return sum(len(s.expectations) for s in layer_suites("marts") if s.asset in assets)


def _failures(results) -> dict[tuple[str, str], tuple[int | None, str]]:
    return {(r.asset, r.check): (r.unexpected_count, r.severity) for r in results if not r.success}


def test_marts_suites_pass_clean_rows(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    _marts(db, bad=False)
    with duckdb.connect(str(db)) as con:
        results = run_layer(con, "marts", "run-1", tables=MARTS_TABLES)
    assert len(results) == _suite_size(*MARTS_TABLES)  # a result per expectation
    assert _failures(results) == {}


def test_marts_suites_catch_bad_rows_and_store_results(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    _marts(db, bad=True)
    with duckdb.connect(str(db)) as con:
        results = run_layer(con, "marts", "run-1", tables=MARTS_TABLES)
        assert _failures(results) == {
            # both rows of the duplicated key are unexpected
            (
                "marts.customer_rfm",
                "expect_compound_columns_to_be_unique(customer_id,as_of_date)",
            ): (2, ERROR),
            ("marts.customer_rfm", "expect_column_values_to_be_between(r_score)"): (1, ERROR),
            ("marts.customer_rfm", "expect_column_values_to_be_in_set(rfm_segment)"): (1, ERROR),
            ("marts.dim_customers", "expect_column_values_to_be_between(p_alive)"): (1, ERROR),
            ("marts.dim_customers", "expect_column_values_to_be_between(clv_365d)"): (1, ERROR),
        }
        observed = {r.check: r.observed_value for r in results if not r.success}
        assert observed["expect_column_values_to_be_in_set(rfm_segment)"] == (
            "1 unexpected of 6 rows, e.g. ['Rising Stars']"
        )
        stored = con.execute(
            "select asset, count(*), count(*) filter (where not success) "
            "from dq.check_results where run_id = 'run-1' and layer = 'marts' "
            "group by asset order by asset"
        ).fetchall()
        rfm, dim = _suite_size("marts.customer_rfm"), _suite_size("marts.dim_customers")
        assert stored == [("marts.customer_rfm", rfm, 3), ("marts.dim_customers", dim, 2)]

        # A rerun of the same run replaces its rows; another run adds its own.
        run_layer(con, "marts", "run-1", tables=MARTS_TABLES)
        run_layer(con, "marts", "run-2", tables=["marts.dim_customers"])
        counts = con.execute(
            "select run_id, count(*) from dq.check_results group by run_id order by run_id"
        ).fetchall()
        assert counts == [("run-1", rfm + dim), ("run-2", dim)]


def test_raw_suite_checks_contract_domains_rules_and_future_timestamps(tmp_path):
    source = SOURCES_BY_NAME["survey_responses"]
    rows = [
        # id, ts, type, score, touchpoint, delivery date, line
        ("R1", "2024-01-01 10:00:00", "nps", 10, "web", "2024-01-01", 2),
        ("R2", "2024-01-02 23:59:59", "csat", 5, None, "2024-01-01", 3),  # day after: fine
        ("R3", "2024-01-01 11:00:00", "csat", 6, "store", "2024-01-01", 4),  # csat is 1..5
        ("R4", "2024-01-01 12:00:00", "ces", 3, "kiosk", "2024-01-01", 5),  # unknown enum
        ("R5", "2024-01-03 00:00:00", "nps", 0, "app", "2024-01-01", 6),  # too late
    ]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema raw")
        con.execute(raw_table_ddl(source))
        con.executemany(
            "insert into raw.survey_responses (response_id, response_ts, survey_type, score, "
            "touchpoint, _delivery_date, _line, _file) values (?, ?, ?, ?, ?, ?, ?, 'f.csv')",
            rows,
        )
        results = run_layer(con, "raw", "run-1", tables=["raw.survey_responses"])
    assert _failures(results) == {
        ("raw.survey_responses", "expect_column_values_to_be_in_set(violates_rule_score)"): (
            1,
            ERROR,
        ),
        ("raw.survey_responses", "expect_column_values_to_be_in_set(touchpoint)"): (1, ERROR),
        (
            "raw.survey_responses",
            "expect_column_pair_values_a_to_be_greater_than_b(ts_limit,response_ts)",
        ): (1, WARN),
    }


def test_raw_suites_validate_each_load_until_a_run_passes_it(tmp_path):
    """Raw expectations judge rows one by one and raw only grows: a load (`_batch_id`)
    that passed is not read again; one that failed is, every run, until it passes."""
    rule = "expect_column_values_to_be_in_set(violates_rule_score)"

    def load(con, batch, scores):
        con.executemany(
            "insert into raw.survey_responses (response_id, response_ts, survey_type, score, "
            "_delivery_date, _line, _file, _batch_id) "
            "values (?, '2024-01-01 10:00:00', 'csat', ?, '2024-01-01', ?, ?, ?)",
            [(f"{batch}-{i}", score, i, f"{batch}.csv", batch) for i, score in enumerate(scores)],
        )

    def validate(con, run):
        (result,) = [
            r for r in run_layer(con, "raw", run, tables=["raw.survey_responses"])
            if r.check == rule
        ]  # fmt: skip
        return result.success, result.observed_value

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema raw")
        con.execute(raw_table_ddl(SOURCES_BY_NAME["survey_responses"]))
        load(con, "b1", [5, 6])  # csat 6 breaks the 1..5 rule
        load(con, "b2", [4])
        assert validate(con, "run-1") == (False, "1 unexpected of 3 rows, e.g. ['True']")
        # b1 reloaded as b3 with the score fixed: b2 was not passed by run-1, so it is read
        con.execute("delete from raw.survey_responses where _batch_id = 'b1'")
        load(con, "b3", [5, 5])
        assert validate(con, "run-2") == (True, "0 unexpected of 3 rows")
        load(con, "b4", [7])
        assert validate(con, "run-3") == (False, "1 unexpected of 1 rows, e.g. ['True']")
        assert validate(con, "run-4") == (False, "1 unexpected of 1 rows, e.g. ['True']")
        passed = con.execute(
            "select batch_id, run_id from dq.validated_batches order by batch_id"
        ).fetchall()
    assert passed == [("b2", "run-2"), ("b3", "run-2")]


def _stg_web_orders(con, rows: list[tuple[str | None, str, str]]) -> None:
    """staging.stg_web__orders with rows of (order_id, currency, _ingested_at), every other
    column its suite reads valid."""
    con.execute("create schema if not exists staging")
    con.execute(
        "create table staging.stg_web__orders (order_id varchar, currency varchar, "
        "_ingested_at timestamp, ordered_at timestamp default '2024-01-01 10:00', "
        "storefront varchar default 'web', status varchar default 'placed', "
        "gross_amount decimal(18, 2) default 10, discount_amount decimal(18, 2) default 0, "
        "net_amount decimal(18, 2) default 10, item_count integer default 1)"
    )
    if rows:
        con.executemany(
            "insert into staging.stg_web__orders (order_id, currency, _ingested_at) "
            "values (?, ?, ?)",
            rows,
        )


def test_staging_suite_checks_keys_after_dedup_and_currency(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        orders = [("O1", "USD"), ("O2", "EUR"), ("O2", "EUR"), ("O3", "XYZ"), (None, "GBP")]
        _stg_web_orders(con, [(o, c, "2024-01-01") for o, c in orders])
        results = run_layer(con, "staging", "run-1", tables=["staging.stg_web__orders"])
    assert _failures(results) == {
        ("staging.stg_web__orders", "expect_column_values_to_be_unique(order_id)"): (2, ERROR),
        ("staging.stg_web__orders", "expect_column_values_to_not_be_null(order_id)"): (1, ERROR),
        ("staging.stg_web__orders", "expect_column_values_to_be_in_set(currency)"): (1, WARN),
    }


def test_a_table_read_in_parts_gives_the_verdicts_of_a_whole_read(tmp_path):
    """Parts split by a hash of the key: a duplicate key is always within one part, the
    counts add up and the unexpected values of every part are listed."""
    orders = [f"O{i}" for i in range(40)] + ["O7", "O7", "O9", None, None]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        _stg_web_orders(
            con, [(o, "XYZ" if i % 10 == 0 else "USD", "2024-01-01") for i, o in enumerate(orders)]
        )

        def verdicts(chunk_rows):
            return {
                r.check: (r.success, r.unexpected_count, r.observed_value)
                for r in run_layer(
                    con,
                    "staging",
                    f"run-{chunk_rows}",
                    tables=["staging.stg_web__orders"],
                    chunk_rows=chunk_rows,
                )
            }

        whole, in_parts = verdicts(1_000), verdicts(4)  # 45 rows: one part, or 12
    assert whole == in_parts
    assert whole["expect_column_values_to_be_unique(order_id)"] == (
        False,
        5,
        "5 unexpected of 45 rows, e.g. ['O7', 'O9']",
    )
    assert whole["expect_column_values_to_not_be_null(order_id)"][:2] == (False, 2)
    assert whole["expect_column_values_to_be_in_set(currency)"][:2] == (False, 5)


def test_staging_suites_validate_the_rows_changed_since_a_run_passed_them(tmp_path):
    """Staging is incremental: a run judges the rows ingested since the newest one a
    passing run judged, with every row sharing a key with them (a duplicate needs a new
    row); a failed run leaves its rows to the next; a full refresh judges every row."""
    unique = "expect_column_values_to_be_unique(order_id)"

    def load(con, at, orders):
        con.executemany(
            "insert into staging.stg_web__orders (order_id, currency, _ingested_at) "
            "values (?, 'USD', ?)",
            [(order, f"2024-01-0{at} 03:00:00") for order in orders],
        )

    def validate(con, run, **scope):
        (result,) = [
            r
            for r in run_layer(
                con,
                "staging",
                run,
                tables=["staging.stg_web__orders"],
                scope=ValidationScope(**scope),
            )
            if r.check == unique
        ]
        return result.success, result.observed_value

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        _stg_web_orders(con, [])
        load(con, 1, ["O1", "O2", "O2"])
        assert validate(con, "run-1") == (False, "2 unexpected of 3 rows, e.g. ['O2']")
        con.execute("delete from staging.stg_web__orders where order_id = 'O2'")
        load(con, 2, ["O3"])  # the failed run passed nothing: day 1 is judged again
        assert validate(con, "run-2") == (True, "0 unexpected of 2 rows")
        load(con, 3, ["O4", "O1"])  # O1 again: found through the new row's key
        assert validate(con, "run-3") == (False, "2 unexpected of 3 rows, e.g. ['O1']")
        con.execute("delete from staging.stg_web__orders where order_id = 'O1'")
        load(con, 4, ["O5"])
        assert validate(con, "run-4") == (True, "0 unexpected of 2 rows")  # O4 and O5
        assert validate(con, "run-5") == (True, "0 unexpected of 0 rows")
        # the lookback window judges again what was stamped in the last hours
        assert validate(con, "run-6", lookback_hours=24) == (True, "0 unexpected of 1 rows")
        assert validate(con, "run-7", full_refresh=True) == (True, "0 unexpected of 3 rows")
        passed = con.execute("select changed_until, run_id from dq.validated_changes").fetchall()
    assert passed == [(datetime(2024, 1, 4, 3), "run-7")]


def test_model_outputs_are_validated_for_the_runs_as_of_date(tmp_path):
    """The models append a date each run: the earlier dates were judged by their runs."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema ml")
        con.execute(
            "create table ml.customer_churn (customer_id varchar, as_of_date date, "
            "churn_probability double, risk_tier varchar)"
        )
        con.execute(
            "insert into ml.customer_churn values ('K1', '2024-03-01', 1.5, 'high'), "
            "('K1', '2024-03-02', 0.5, 'medium'), ('K2', '2024-03-02', 0.1, 'low')"
        )

        def failures(as_of):
            results = run_layer(
                con, "marts", f"run-{as_of}", tables=["ml.customer_churn"],
                scope=ValidationScope(as_of_date=as_of),
            )  # fmt: skip
            assert {r.observed_value for r in results if r.success} <= {
                f"0 unexpected of {2 if as_of.day == 2 else 1} rows"
            }
            return sorted(r.check for r in results if not r.success)

        assert failures(date(2024, 3, 2)) == []
        assert failures(date(2024, 3, 1)) == [
            "expect_column_values_to_be_between(churn_probability)"
        ]


def test_missing_table_or_column_fails_with_a_reason(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema ml")
        con.execute("create table ml.customer_churn (customer_id varchar, as_of_date date)")
        con.execute("insert into ml.customer_churn values ('K1', '2024-03-01')")
        results = run_layer(con, "marts", "run-1", tables=["ml.customer_churn", "ml.customer_clv"])
    # Results follow the layer's suite order (by table: customer_churn, customer_clv).
    assert [(r.asset, r.check, r.success, r.severity, r.observed_value) for r in results] == [
        ("ml.customer_churn", "expect_column_values_to_be_between(churn_probability)", False,
         ERROR, 'error: Error: The column "churn_probability" in BatchData does not exist.'),
        ("ml.customer_churn", "expect_column_values_to_be_in_set(risk_tier)", False, ERROR,
         'error: Error: The column "risk_tier" in BatchData does not exist.'),
        ("ml.customer_churn", "expect_column_values_to_not_be_null(as_of_date)", True, ERROR,
         "0 unexpected of 1 rows"),
        ("ml.customer_churn", "expect_column_values_to_not_be_null(customer_id)", True, ERROR,
         "0 unexpected of 1 rows"),
        ("ml.customer_churn", "expect_compound_columns_to_be_unique(customer_id,as_of_date)",
         True, ERROR, "0 unexpected of 1 rows"),
        ("ml.customer_clv", MISSING_TABLE_CHECK, False, ERROR, "table not found in the warehouse"),
    ]  # fmt: skip


def test_every_suite_has_an_error_expectation_and_unique_check_names():
    for layer in ("raw", "staging", "marts"):
        suites = layer_suites(layer)
        assert suites and all(s.has_error for s in suites)
    with pytest.raises(ValueError, match="unknown data quality layer 'gold'"):
        layer_suites("gold")


DIM_KEY = dg.AssetKey(["marts", "dim_customers"])


@pytest.mark.parametrize("bad", [False, True])
def test_error_failure_in_marts_blocks_publishing_in_dagster(tmp_path, bad):
    db = tmp_path / "warehouse.duckdb"

    @dg.asset(key=DIM_KEY)
    def dim_customers() -> None:
        _marts(db, bad=bad)

    @dg.asset(deps=[RESULTS_KEY])
    def published() -> None:
        """Stands for the publish asset, downstream of the gate."""

    others = [dg.AssetSpec(k) for k in check_results.dependency_keys if k != DIM_KEY]
    result = dg.materialize(
        [dim_customers, check_results, published, gx_gate, *others],
        resources={
            "warehouse": WarehouseResource.from_settings(load_settings(), db),
            "settings": SettingsResource.from_environment(),
        },
        selection=dg.AssetSelection.assets(dim_customers, check_results, published).without_checks()
        | dg.AssetSelection.checks(dg.AssetCheckKey(RESULTS_KEY, "marts__dim_customers")),
        tags=RunScope(date(2024, 3, 1)).tags(),
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed is not bad
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert (dg.AssetKey("published") in materialized) is not bad
    if bad:
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert evaluation.metadata["failed_error"].value == 2
    # the UI lists the table's expectations, failed ones first; the run's page has them all
    listed = evaluation.metadata["expectations_table"].value.splitlines()[2:]
    assert len(listed) == _suite_size("marts.dim_customers")
    assert [row.split(" | ")[1] for row in listed[:2]] == (
        ["failed", "failed"] if bad else ["passed", "passed"]
    )
    page = Path(evaluation.metadata["report"].value)
    assert page == tmp_path / "quality" / "runs" / f"{result.run_id}.html"
    assert (
        f'data-chart="expectations:marts.dim_customers" '
        f'data-points="{_suite_size("marts.dim_customers")}"'
    ) in page.read_text()
    assert result.run_id in (tmp_path / "quality" / "index.html").read_text()
    with duckdb.connect(str(db), read_only=True) as con:
        per_asset = dict(
            con.execute("select asset, count(*) from dq.check_results group by asset").fetchall()
        )
    assert per_asset["marts.dim_customers"] == _suite_size("marts.dim_customers")
    assert per_asset["marts.fct_orders"] == 1  # not built here: expect_table_to_exist fails


def test_error_failure_in_raw_blocks_what_is_built_on_it(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    raw_key = dg.AssetKey(["raw", "survey_responses"])

    @dg.asset(key=raw_key)
    def survey_responses() -> None:
        with duckdb.connect(str(db)) as con:
            con.execute("create schema raw")
            con.execute(raw_table_ddl(SOURCES_BY_NAME["survey_responses"]))
            con.execute(
                "insert into raw.survey_responses (response_id, response_ts, survey_type, "
                "score, _delivery_date, _line, _file) values "
                "('R1', '2024-01-01 10:00', 'csat', 6, '2024-01-01', 2, 'f.csv')"
            )

    @dg.asset(deps=[raw_key])
    def staged() -> None:
        """Stands for the dbt models built on raw."""

    result = dg.materialize(
        [survey_responses, staged, gx_raw],
        resources={
            "warehouse": WarehouseResource.from_settings(load_settings(), db),
            "settings": SettingsResource.from_environment(),
        },
        selection=dg.AssetSelection.assets(survey_responses, staged).without_checks()
        | dg.AssetSelection.checks(dg.AssetCheckKey(raw_key, RAW_CHECK_NAME)),
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["failures"].value == [
        {
            "check": "expect_column_values_to_be_in_set(violates_rule_score)",
            "severity": ERROR,
            "observed": "1 unexpected of 1 rows, e.g. ['True']",
        }
    ]
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {raw_key}


def test_checks_cover_every_source_staging_model_and_mart_of_the_project():
    from orchestration.definitions import defs

    project = set(defs.resolve_asset_graph().get_all_asset_keys())
    checked = {k.asset_key for k in gx_raw.check_keys} | set(check_results.dependency_keys)
    assert checked <= project
    # Every raw source, staging model and mart has a suite (ml tables are checked too).
    layered = {k for k in project if k.path[0] in ("raw", "staging", "marts")}
    assert layered - checked == set()
    assert {k.name for k in gx_gate.check_keys} == {
        f"{k.path[0]}__{k.path[1]}" for k in check_results.dependency_keys
    }


def test_changed_row_suites_follow_the_incremental_models():
    """A suite judges changed rows only where dbt replaces a key's rows together and
    stamps them: an incremental model with the column (and every such mart has one)."""
    manifest = load_manifest()
    models = {
        f"{n['schema']}.{n['name']}": n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
    }
    changed = {
        s.asset: s.changed_column
        for layer in ("staging", "marts")
        for s in layer_suites(layer)
        if s.changed_column
    }
    for asset, column in changed.items():
        assert models[asset]["config"]["materialized"] == "incremental", asset
        assert column in models[asset]["columns"], asset
    stamped_marts = {
        name
        for name, node in models.items()
        if node["schema"] == "marts"
        and node["config"]["materialized"] == "incremental"
        and "_changed_at" in node["columns"]
    }
    assert stamped_marts == {a for a in changed if a.startswith("marts.")}


def test_a_suite_comparing_rows_off_its_key_is_refused():
    # Parts and changed rows are cut along the key: a uniqueness check on another
    # column could miss a duplicate that falls in two parts.
    with pytest.raises(
        ValueError, match=r"be_unique\(email\) judges rows together on other columns"
    ):
        TableSuite("marts", "marts", "dim_customers", tuple(unique(("email",))), ("customer_id",))
    TableSuite("marts", "marts", "dim_customers", tuple(unique(("customer_id",))), ("customer_id",))


def _test_node(name, parent, kwargs, severity="ERROR", where=None, meta=None, also=()):
    return {
        "unique_id": f"test.p.{name}",
        "resource_type": "test",
        "attached_node": parent,
        "depends_on": {"nodes": [*also, parent]},
        "test_metadata": {"name": name.split(".")[0], "kwargs": kwargs},
        "config": {"severity": severity, "where": where, "meta": meta or {}},
    }


def test_suites_are_derived_from_the_dbt_tests_of_the_manifest():
    """The grain, required values, ranges, accepted values, seed references and row
    conditions of a model's dbt tests become its GX suite; relationships to another
    model stay in dbt."""
    model, seed = "model.p.fct_visits", "seed.p.channel_catalog"
    tests = [
        _test_node("unique.1", model, {"column_name": "visit_id"}),
        _test_node(
            "unique_combination_of_columns.2", model,
            {"combination_of_columns": ["customer_id", "visit_seq"]}, meta={"grain": True},
        ),
        _test_node("column_rules.3", model, {"not_null": ["customer_id", "visit_seq", "day"],
                                             "not_negative": ["minutes"],
                                             "accepted_values": {"device": ["web", "app"]},
                                             "accepted_range": {"rating": {"max_value": 10},
                                                                "share": {"min_value": 0,
                                                                          "max_value": 1}}}),
        _test_node("accepted_range.4", model, {"column_name": "score", "min_value": 1,
                                               "max_value": 5}, severity="warn"),
        _test_node("accepted_values.5", model, {"column_name": "kind", "values": ["a", "b"]},
                   where="day > '2024-01-01'"),
        _test_node("relationships.6", model, {"column_name": "channel", "field": "channel"},
                   also=[seed]),
        _test_node("relationships.7", model, {"column_name": "customer_id", "field": "id"},
                   also=["model.p.dim_customers"]),
        _test_node("expression_is_true.8", model, {"expression": "minutes < 600"}),
    ]  # fmt: skip
    manifest = {
        "nodes": {
            model: {"name": "fct_visits", "schema": "marts", "resource_type": "model",
                    "config": {"materialized": "table"}},
            seed: {"name": "channel_catalog", "schema": "reference", "resource_type": "seed"},
            **{t["unique_id"]: t for t in tests},
        },
        "sources": {},
    }  # fmt: skip
    (suite,) = layer_suites("marts", manifest)
    assert (suite.asset, suite.order_by) == ("marts.fct_visits", ("customer_id", "visit_seq"))
    assert suite.derived == {
        "kind_where_1": "case when day > '2024-01-01' then \"kind\" end",
        "violates_2": "coalesce(not (minutes < 600), false)",
    }
    with open(REPO_ROOT / "seeds" / "channel_catalog.csv", encoding="utf-8") as f:
        channels = sorted(line.split(",")[0] for line in f.read().splitlines()[1:])
    assert {e.check_name: (e.severity, e.kwargs) for e in suite.expectations} == {
        "expect_compound_columns_to_be_unique(customer_id,visit_seq)": (
            ERROR, {"column_list": ["customer_id", "visit_seq"]}),
        "expect_column_values_to_not_be_null(customer_id)": (ERROR, {"column": "customer_id"}),
        "expect_column_values_to_not_be_null(visit_seq)": (ERROR, {"column": "visit_seq"}),
        "expect_column_values_to_not_be_null(day)": (ERROR, {"column": "day"}),
        "expect_column_values_to_be_between(minutes)": (
            ERROR, {"column": "minutes", "min_value": 0, "max_value": None}),
        "expect_column_values_to_be_in_set(device)": (
            ERROR, {"column": "device", "value_set": ["web", "app"]}),
        "expect_column_values_to_be_between(rating)": (
            ERROR, {"column": "rating", "min_value": None, "max_value": 10}),
        "expect_column_values_to_be_between(share)": (
            ERROR, {"column": "share", "min_value": 0, "max_value": 1}),
        "expect_column_values_to_be_between(score)": (
            WARN, {"column": "score", "min_value": 1, "max_value": 5}),
        "expect_column_values_to_be_in_set(kind_where_1)": (
            ERROR, {"column": "kind_where_1", "value_set": ["a", "b"]}),
        "expect_column_values_to_be_in_set(channel)": (
            ERROR, {"column": "channel", "value_set": channels}),
        "expect_column_values_to_be_in_set(violates_2)": (
            ERROR, {"column": "violates_2", "value_set": [False]}),
    }  # fmt: skip

    del manifest["nodes"]["test.p.unique_combination_of_columns.2"]["config"]["meta"]["grain"]
    with pytest.raises(ValueError, match=r"marts\.fct_visits: no grain"):
        layer_suites("marts", manifest)
