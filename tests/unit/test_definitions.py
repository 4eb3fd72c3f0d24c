"""The whole Definitions object loads, with every asset, check, job and trigger."""

import os
from datetime import date, timedelta

import dagster as dg

from orchestration import project
from orchestration.definitions import defs
from orchestration.defs.partitions import DELIVERY_DAYS, last_delivery_day
from orchestration.defs.resources import SettingsResource
from orchestration.lib.contract import SOURCES
from orchestration.lib.phones import PHONE_COLUMNS
from orchestration.lib.run_scope import RunScope, scope_from_tags


def asset_keys() -> set[str]:
    return {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}


def test_every_layer_has_its_assets():
    keys = asset_keys()
    assert {f"raw/{s.name}" for s in SOURCES} <= keys
    assert {"staging/stg_web__orders", "marts/fct_orders", "marts/fct_touchpoints"} <= keys
    assert "publish/marts_duckdb" in keys


def test_publish_waits_for_every_mart():
    graph = defs.resolve_asset_graph()
    publish = dg.AssetKey(["publish", "marts_duckdb"])
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert marts and marts <= graph.get(publish).parent_keys
    assert dg.AssetKey(["dq", "identity_resolution_runs"]) in graph.get(publish).parent_keys
    assert dg.AssetKey(["dq", "check_results"]) in graph.get(publish).parent_keys


def test_models_sit_between_the_features_and_the_customer_marts():
    graph = defs.resolve_asset_graph()

    def parents(*path: str) -> set[str]:
        return {key.to_user_string() for key in graph.get(dg.AssetKey(list(path))).parent_keys}

    assert "features/customer_purchase_summaries" in parents("ml", "customer_clv")
    assert "features/customer_churn_features" in parents("ml", "customer_churn")
    assert {"ml/customer_clv", "ml/customer_churn"} <= parents("marts", "dim_customers")
    assert "marts/dim_customers" in parents("marts", "rpt_clv_by_segment")


def test_phone_lookup_sits_between_raw_and_the_staging_that_joins_it():
    graph = defs.resolve_asset_graph()
    lookup = dg.AssetKey(["lookup", "phone_numbers"])
    assert {key.to_user_string() for key in graph.get(lookup).parent_keys} == {
        f"raw/{source}" for source, _ in PHONE_COLUMNS
    }
    children = {key.to_user_string() for key in graph.get(lookup).child_keys}
    assert {"staging/stg_pos__transactions", "staging/stg_crm__customers"} <= children
    assert "staging/stg_web__sessions" not in children


def test_checks_cover_ingestion_and_dbt_tests():
    checks = {
        (key.asset_key.to_user_string(), key.name)
        for key in defs.resolve_asset_graph().asset_check_keys
    }
    for source in SOURCES:
        for name in ("lines_reconciled_with_raw", "volume_within_baseline", "fresh_delivery"):
            assert (f"raw/{source.name}", name) in checks
    assert ("marts/fct_orders", "dbt_tests") in checks, "a model's dbt tests are one check"
    assert ("staging/stg_web__orders", "dbt_tests") in checks
    for name in (
        "largest_cluster_size",
        "singleton_share_stable",
        "merges_within_trailing_average",
    ):
        assert ("dq/identity_resolution_runs", name) in checks
    assert ("ml/churn_model_metrics", "beats_baselines") in checks
    assert ("ml/clv_model_params", "models_fitted") in checks
    assert ("marts/fct_orders", "revenue_reconciled_with_raw") in checks
    assert ("marts/fct_touchpoints", "null_customers_explained") in checks


def test_jobs_schedule_and_sensor():
    assert defs.resolve_job_def("nightly") is not None
    assert defs.resolve_job_def("ingest") is not None
    schedule = defs.resolve_schedule_def("nightly_at_0200")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert defs.resolve_sensor_def("landing_files_sensor").job_name == "nightly"


def test_sensor_requests_the_days_whose_files_are_new_or_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("LANDING_DIR", str(tmp_path))
    monkeypatch.delenv("AS_OF_DATE", raising=False)
    sensor = defs.resolve_sensor_def("landing_files_sensor")

    def tick(cursor=None):
        resources = {"settings": SettingsResource.from_environment()}
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        return sensor(context), context.cursor

    def write(day: str, name: str, text: str = "order_id\n") -> None:
        (tmp_path / "web_orders" / day).mkdir(parents=True, exist_ok=True)
        (tmp_path / "web_orders" / day / name).write_text(text)

    with dg.instance_for_test() as instance:
        empty, _ = tick()
        assert isinstance(empty, dg.SkipReason)

        write("2026-03-01", "orders.csv")
        first, cursor = tick()
        assert scope_from_tags(first.tags) == RunScope(date(2026, 3, 1), *[date(2026, 3, 1)] * 2)
        again, _ = tick(cursor)
        assert isinstance(again, dg.SkipReason)

        write("2026-03-03", "orders.csv")
        write("2026-03-01", "orders.csv", "order_id\n1\n")  # corrected, same name
        second, cursor = tick(cursor)
        assert scope_from_tags(second.tags) == RunScope(
            date(2026, 3, 3), date(2026, 3, 1), date(2026, 3, 3)
        )
        write("2026-03-02", "late.csv")
        third, cursor = tick(cursor)
        assert scope_from_tags(third.tags) == RunScope(
            date(2026, 3, 3), date(2026, 3, 2), date(2026, 3, 2)
        )
        # A folder of a day not over yet waits for that day's partition.
        write((last_delivery_day(DELIVERY_DAYS) + timedelta(days=1)).isoformat(), "early.csv")
        early, _ = tick(cursor)
        assert isinstance(early, dg.SkipReason)


def test_ingestion_and_the_nightly_job_are_partitioned_by_delivery_day():
    graph = defs.resolve_asset_graph()
    for source in SOURCES:
        partitions = graph.get(dg.AssetKey(["raw", source.name])).partitions_def
        assert partitions == DELIVERY_DAYS
    assert defs.resolve_job_def("nightly").partitions_def == DELIVERY_DAYS
    # The schedule runs the day that just ended, not the day that is starting.
    day = DELIVERY_DAYS.start + timedelta(days=3)
    schedule = defs.resolve_schedule_def("nightly_at_0200")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=day.replace(hour=2)
        )
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == (day - timedelta(days=1)).date().isoformat()


def test_the_manifest_is_parsed_again_only_when_the_project_or_the_engine_changed(
    tmp_path, monkeypatch
):
    models, manifest = tmp_path / "models", tmp_path / "target" / "manifest.json"
    models.mkdir()
    (models / "a.sql").write_text("select 1")
    monkeypatch.setattr(project, "PARSED_PATHS", (models,))
    monkeypatch.setattr(project, "DBT_PROJECT_DIR", tmp_path)
    assert not project.manifest_is_current("duckdb")  # none yet
    manifest.parent.mkdir()
    parsed = '{"metadata": {"dbt_version": "1.11", "adapter_type": "duckdb", "env": {}}}'
    manifest.write_text(parsed)
    os.utime(models / "a.sql", (1, 1))
    os.utime(models, (1, 1))
    assert not project.manifest_is_current("duckdb")  # a target/ of before the semantic manifest
    for name in project.PARSE_OUTPUTS:
        (manifest.parent / name).write_text(parsed if name == "manifest.json" else "{}")
    assert project.manifest_is_current("duckdb")
    assert not project.manifest_is_current("spark")  # each engine parses into its own target
    spark = tmp_path / "target" / "spark"
    spark.mkdir()
    for name in project.PARSE_OUTPUTS:
        (spark / name).write_text(parsed if name == "manifest.json" else "{}")
    assert not project.manifest_is_current("spark")  # one parsed for the other engine
    (spark / "manifest.json").write_text(parsed.replace('"duckdb"', '"spark"'))
    assert project.manifest_is_current("spark")
    (models / "a.sql").write_text("select 2")  # edited after the parse
    assert not project.manifest_is_current("duckdb")


def test_the_dashboard_is_built_after_publishing():
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["publish", "dashboard"]))
    assert dg.AssetKey(["publish", "marts_duckdb"]) in node.parent_keys
    assert node.group_name == "publish"
    nightly = defs.resolve_job_def("nightly").asset_layer.selected_asset_keys
    assert dg.AssetKey(["publish", "dashboard"]) in nightly
