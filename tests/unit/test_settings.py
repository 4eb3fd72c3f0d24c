import json
import os
import re
from datetime import date

import pytest
import yaml

from orchestration.lib.dbt_args import build_dbt_args
from orchestration.lib.run_scope import RunScope
from orchestration.lib.settings import (
    ENGINES,
    REPO_ROOT,
    DuckDBLimits,
    IngestLimits,
    load_settings,
    settings_environ,
)


@pytest.fixture
def clean_env(monkeypatch):
    for var in settings_environ():
        monkeypatch.delenv(var)
    return monkeypatch


def test_defaults_are_under_data(clean_env):
    settings = load_settings()
    assert settings.landing_dir == REPO_ROOT / "data" / "landing"
    assert settings.warehouse_path == REPO_ROOT / "data" / "warehouse" / "warehouse.duckdb"
    assert settings.publish_path == REPO_ROOT / "data" / "publish" / "marts.duckdb"
    assert settings.dagster_home == REPO_ROOT / "data" / "dagster"
    assert settings.reporting_tz == "UTC"


def test_as_of_date_defaults_to_latest_delivery_folder(clean_env, tmp_path):
    for folder in ("web_orders/2026-03-01", "web_orders/2026-03-03", "pos_transactions/2026-03-02"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "web_orders" / "not-a-date").mkdir()
    clean_env.setenv("LANDING_DIR", str(tmp_path))
    assert load_settings().as_of_date_for_new_run() == date(2026, 3, 3)
    clean_env.setenv("AS_OF_DATE", "2026-03-02")
    assert load_settings().as_of_date_for_new_run() == date(2026, 3, 2)


def test_as_of_date_errors_say_what_is_wrong(clean_env, tmp_path):
    clean_env.setenv("LANDING_DIR", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="holds no delivery folders"):
        load_settings().as_of_date_for_new_run()
    clean_env.setenv("AS_OF_DATE", "03/02/2026")
    with pytest.raises(ValueError, match="AS_OF_DATE='03/02/2026' is not a YYYY-MM-DD date"):
        load_settings()


def test_relative_paths_resolve_against_the_repo(clean_env):
    clean_env.setenv("WAREHOUSE_DIR", "somewhere/wh")
    assert load_settings().warehouse_dir == REPO_ROOT / "somewhere" / "wh"


def test_dbt_args_carry_the_run_scope_time_zone_and_horizon(clean_env):
    clean_env.setenv("REPORTING_TZ", "Europe/Paris")
    clean_env.setenv("CHURN_HORIZON_DAYS", "60")
    clean_env.setenv("CHURN_REFIT_DAYS", "1")
    clean_env.setenv("INCREMENTAL_LOOKBACK_HOURS", "0")
    clean_env.setenv("EMAIL_PROVIDER_RULES", "on")
    clean_env.setenv("K_ANONYMITY", "5")
    scope = RunScope(date(2026, 6, 30), date(2026, 6, 28), date(2026, 6, 29))
    assert build_dbt_args(load_settings(), scope) == [
        "build",
        "--target",
        "duckdb",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        '{"as_of_date": "2026-06-30", "churn_horizon_days": 60, "churn_refit_days": 1, '
        '"email_provider_rules": true, "incremental_lookback_hours": 0, "k_anonymity": 5, '
        '"reporting_tz": "Europe/Paris", "window_end": "2026-06-29", '
        '"window_start": "2026-06-28"}',
    ]
    assert json.loads(build_dbt_args(load_settings(), RunScope(date(2026, 6, 30)), "r-42")[6]) == {
        "as_of_date": "2026-06-30",
        "churn_horizon_days": 60,
        "churn_refit_days": 1,
        "email_provider_rules": True,
        "incremental_lookback_hours": 0,
        "k_anonymity": 5,
        "reporting_tz": "Europe/Paris",
        "run_id": "r-42",
        "window_end": "",
        "window_start": "",
    }


def test_settings_come_from_the_mapping_given_not_the_process(clean_env, tmp_path):
    clean_env.setenv("CHURN_HORIZON_DAYS", "30")
    given = {"CHURN_HORIZON_DAYS": "60", "IDENTITY_MERGES_FLOOR": "7", "HOME": "/x"}
    settings = load_settings(given)
    assert settings.churn_horizon_days == 60 and settings.identity.merges_floor == 7
    assert load_settings().churn_horizon_days == 30
    assert settings_environ(given) == {"CHURN_HORIZON_DAYS": "60", "IDENTITY_MERGES_FLOOR": "7"}


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("CLV_MODEL", "lifetimes", "CLV_MODEL='lifetimes' is not one of bgnbd, pareto_nbd"),
        ("CHURN_HORIZON_DAYS", "ninety", "CHURN_HORIZON_DAYS='ninety' is not a whole number"),
        ("CHURN_HORIZON_DAYS", "3", "CHURN_HORIZON_DAYS='3' is outside 7..365"),
        ("INCREMENTAL_LOOKBACK_HOURS", "-1", "INCREMENTAL_LOOKBACK_HOURS='-1' is outside 0..720"),
        ("CLV_ANNUAL_DISCOUNT_RATE", "1.5", "CLV_ANNUAL_DISCOUNT_RATE='1.5' is outside 0..1"),
        ("EMAIL_PROVIDER_RULES", "yes", "EMAIL_PROVIDER_RULES='yes' is not on or off"),
        ("K_ANONYMITY", "1", "K_ANONYMITY='1' is outside 2..1000000"),
    ],
)
def test_model_settings_are_validated(clean_env, var, value, message):
    clean_env.setenv(var, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings()


def test_limits_default_to_a_bounded_share_of_the_machine(clean_env):
    settings = load_settings()
    assert settings.ingest == IngestLimits(
        max_file_bytes=2**30, max_line_bytes=16 * 2**20, retry_delay_s=5
    )
    assert settings.duckdb == DuckDBLimits(
        memory_limit="50%",
        threads=os.cpu_count(),
        temp_directory=REPO_ROOT / "data" / "warehouse" / "duckdb_tmp",
    )
    assert settings.quarantine_rule_for("web_orders") == "tonight"


def test_limits_are_read_with_units_and_reach_dbt(clean_env, tmp_path):
    clean_env.setenv("WAREHOUSE_DIR", str(tmp_path))
    clean_env.setenv("AS_OF_DATE", "2026-06-30")
    clean_env.setenv("INGEST_MAX_FILE_BYTES", "512MiB")
    clean_env.setenv("INGEST_MAX_LINE_BYTES", "64 KB")
    clean_env.setenv("INGEST_RETRY_DELAY_S", "0")
    clean_env.setenv("DUCKDB_MEMORY_LIMIT", "6GiB")
    clean_env.setenv("DUCKDB_THREADS", "3")
    clean_env.setenv("QUARANTINE_BLOCKS", "any")
    clean_env.setenv("QUARANTINE_BLOCKS_BY_SOURCE", "web_sessions=never, pos_transactions=tonight")
    settings = load_settings()
    assert settings.ingest == IngestLimits(
        max_file_bytes=512 * 2**20, max_line_bytes=64_000, retry_delay_s=0
    )
    assert settings.duckdb.memory_limit == f"{6 * 2**30}B"
    assert [settings.quarantine_rule_for(s) for s in ("web_orders", "web_sessions")] == [
        "any",
        "never",
    ]
    assert settings.quarantine_rule_for("pos_transactions") == "tonight"
    assert json.loads(settings.dbt_env()["WAREHOUSE_DUCKDB_SETTINGS"]) == {"TimeZone": "UTC"}
    assert json.loads(settings.dbt_env()["WAREHOUSE_DUCKDB_CONFIG"]) == {
        "memory_limit": f"{6 * 2**30}B",
        "threads": "3",
        "temp_directory": str(tmp_path / "duckdb_tmp"),
    }
    clean_env.setenv("DUCKDB_MEMORY_LIMIT", "25%")
    assert load_settings().duckdb.memory_limit == "25%"


def test_the_engine_picks_the_dbt_target_and_spark_limits_reach_dbt(clean_env):
    assert load_settings().engine == "duckdb"
    clean_env.setenv("WAREHOUSE_ENGINE", "Spark")
    clean_env.setenv("SPARK_CORES", "8")
    clean_env.setenv("SPARK_DRIVER_MEMORY", "12G")
    settings = load_settings()
    assert build_dbt_args(settings, RunScope(date(2026, 6, 30)))[1:3] == ["--target", "spark"]
    env = settings.dbt_env()
    assert (env["SPARK_CORES"], env["SPARK_DRIVER_MEMORY"], env["SPARK_SHUFFLE_PARTITIONS"]) == (
        "8",
        "12g",
        "4",
    )
    assert env["SPARK_DRIVER_JAVA_OPTIONS"] == ""  # the JVM's own defaults
    clean_env.setenv("SPARK_DRIVER_JAVA_OPTIONS", " -XX:+UseSerialGC ")
    assert load_settings().dbt_env()["SPARK_DRIVER_JAVA_OPTIONS"] == "-XX:+UseSerialGC"
    # each engine parses and builds in its own target directory, DuckDB in dbt's default
    assert env["DBT_TARGET_PATH"] == "target/spark"
    clean_env.setenv("WAREHOUSE_ENGINE", "duckdb")
    assert load_settings().dbt_env()["DBT_TARGET_PATH"] == "target"
    # every engine is a target of the profile dbt reads
    profile = yaml.safe_load((REPO_ROOT / "dbt_project" / "profiles.yml").read_text())
    assert set(profile["omnichannel_warehouse"]["outputs"]) == set(ENGINES)


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        (
            "WAREHOUSE_ENGINE",
            "snowflake",
            "WAREHOUSE_ENGINE='snowflake' is not one of duckdb, spark",
        ),
        ("SPARK_CORES", "0", "SPARK_CORES='0' is outside 1..1024"),
        ("SPARK_DRIVER_MEMORY", "4 GB", "SPARK_DRIVER_MEMORY='4 gb' is not a size such as 4g"),
        ("INGEST_MAX_FILE_BYTES", "lots", "INGEST_MAX_FILE_BYTES='lots' is not a size"),
        ("INGEST_MAX_LINE_BYTES", "0", "INGEST_MAX_LINE_BYTES='0' is not a size"),
        ("DUCKDB_MEMORY_LIMIT", "150%", "a share of RAM is between 0 and 100 %"),
        ("DUCKDB_THREADS", "0", "DUCKDB_THREADS='0' is outside 1..1024"),
        ("INGEST_RETRY_DELAY_S", "-1", "INGEST_RETRY_DELAY_S='-1' is outside 0..3600"),
        ("QUARANTINE_BLOCKS", "sometimes", "QUARANTINE_BLOCKS='sometimes' is not one of"),
        ("QUARANTINE_BLOCKS_BY_SOURCE", "web_orderz=any", "'web_orderz=any' is not"),
        ("QUARANTINE_BLOCKS_BY_SOURCE", "web_orders=maybe", "'web_orders=maybe' is not"),
    ],
)
def test_limit_settings_are_validated(clean_env, var, value, message):
    clean_env.setenv(var, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings()


def test_only_an_unset_landing_dir_is_the_default_one(clean_env, tmp_path):
    assert load_settings().landing_dir_chosen is False
    clean_env.setenv("LANDING_DIR", str(tmp_path / "share"))
    settings = load_settings()
    assert settings.landing_dir_chosen is True
    assert settings.landing_problem() == (
        f"the landing directory {tmp_path / 'share'} does not exist (LANDING_DIR)"
    )
    (tmp_path / "share" / "web_orders" / "not-a-day").mkdir(parents=True)
    assert "holds no delivery folder" in settings.landing_problem()
    (tmp_path / "share" / "web_orders" / "2026-06-30").mkdir()
    assert settings.landing_problem() is None
