"""The whole Definitions object loads, with every asset, check, job and trigger."""

import json

import dagster as dg

from orchestration.definitions import defs
from orchestration.lib.contract import SOURCES


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


def test_checks_cover_ingestion_and_dbt_tests():
    checks = {
        (key.asset_key.to_user_string(), key.name)
        for key in defs.resolve_asset_graph().asset_check_keys
    }
    for source in SOURCES:
        for name in ("lines_reconciled_with_raw", "volume_within_baseline", "fresh_delivery"):
            assert (f"raw/{source.name}", name) in checks
    assert any(asset.startswith("marts/") for asset, _ in checks), "dbt tests are asset checks"
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


def test_sensor_fires_once_per_change_of_the_landing_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("LANDING_DIR", str(tmp_path))
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    with dg.instance_for_test() as instance:
        empty = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(empty, dg.SkipReason)

        day = tmp_path / "web_orders" / "2026-03-01"
        day.mkdir(parents=True)
        (day / "orders.csv").write_text("order_id\n")
        first = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(first, dg.RunRequest)
        cursor = json.dumps(json.loads(first.run_key), sort_keys=True)
        assert json.loads(cursor)["files"] == 1

        again = sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(again, dg.SkipReason)

        (day / "orders2.csv").write_text("order_id\n")
        second = sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(second, dg.RunRequest)
