"""`cli run` makes demo data only when nobody chose a landing directory, or when asked;
a chosen one that is missing or empty stops the run before anything is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date

import duckdb
import pytest

from orchestration.cli import LandingRefused, main, nightly_scope, plan_landing
from orchestration.lib.alerts import root_cause
from orchestration.lib.ingest import ensure_raw_schema
from orchestration.lib.run_scope import RunScope
from orchestration.lib.settings import data_root_env, load_settings


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name, value in data_root_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AS_OF_DATE", raising=False)
    return monkeypatch


def test_a_fresh_clone_gets_the_demo_data_a_chosen_directory_does_not(env, tmp_path):
    env.delenv("LANDING_DIR")
    unset = load_settings()
    assert unset.landing_dir_chosen is False
    # (data/landing of this checkout may hold a developer's data: an empty stand-in)
    assert plan_landing(replace(unset, landing_dir=tmp_path / "fresh_clone")) == "generate"
    env.setenv("LANDING_DIR", str(tmp_path / "share"))
    with pytest.raises(LandingRefused, match=f"{tmp_path / 'share'} does not exist"):
        plan_landing(load_settings())
    assert plan_landing(load_settings(), demo=True) == "generate"
    (tmp_path / "share" / "web_orders").mkdir(parents=True)
    with pytest.raises(LandingRefused, match="holds no delivery folder"):
        plan_landing(load_settings())
    (tmp_path / "share" / "web_orders" / "2026-06-30").mkdir()
    assert plan_landing(load_settings()) == "load"
    assert plan_landing(load_settings(), demo=True) == "load"  # deliveries are never replaced


@pytest.mark.parametrize("args", [("run",), ("reload", "2026-06-30")])
def test_a_missing_landing_directory_fails_before_anything_is_written(tmp_path, args):
    env = {**os.environ, **data_root_env(tmp_path), "LANDING_DIR": str(tmp_path / "typo")}
    env.pop("AS_OF_DATE", None)
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"the landing directory {tmp_path / 'typo'} does not exist" in done.stderr
    assert not (tmp_path / "typo").exists(), "no demo data made up in its place"
    assert not (tmp_path / "warehouse").exists() and not (tmp_path / "publish").exists()
    (alert,) = (tmp_path / "dagster" / "alerts.log").read_text().splitlines()
    assert "does not exist" in json.loads(alert)["message"]


def test_env_prints_what_dbt_needs_to_run_by_hand(tmp_path):
    (tmp_path / "landing" / "web_orders" / "2026-06-30").mkdir(parents=True)
    env = {**os.environ, **data_root_env(tmp_path), "DUCKDB_MEMORY_LIMIT": "2GiB"}
    env.pop("AS_OF_DATE", None)
    done = subprocess.run(
        ["bash", "-c", f'eval "$({sys.executable} -m orchestration.cli env)" && env'],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    exported = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert exported["WAREHOUSE_DIR"] == str(tmp_path / "warehouse")
    assert exported["AS_OF_DATE"] == "2026-06-30"
    assert json.loads(exported["WAREHOUSE_DUCKDB_CONFIG"])["memory_limit"] == f"{2**31}B"


def test_scheduled_ingestion_fails_on_a_missing_landing_directory_before_any_write(env, tmp_path):
    """The daemon's runs do not go through the command line: the ingestion steps refuse."""
    import dagster as dg

    from orchestration.defs.ingestion.assets import ingestion_assets
    from orchestration.defs.partitions import DELIVERY_DAYS
    from orchestration.defs.resources import SettingsResource, WarehouseResource

    env.setenv("LANDING_DIR", str(tmp_path / "unmounted"))
    env.setenv("AS_OF_DATE", "2026-06-30")
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    result = dg.materialize(
        ingestion_assets[:2],
        resources={
            "settings": SettingsResource.from_environment(),
            "warehouse": WarehouseResource.from_settings(load_settings(), warehouse),
        },
        partition_key=DELIVERY_DAYS.get_last_partition_key(),
        raise_on_error=False,
    )
    failures = result.get_step_failure_events()
    assert len(failures) == 2
    assert {root_cause(f.event_specific_data.error) for f in failures} == {
        f"nothing loaded: the landing directory {tmp_path / 'unmounted'} does not exist "
        "(LANDING_DIR)"
    }
    assert not warehouse.exists()


def test_run_takes_the_days_holding_new_files_as_of_the_latest_day_that_is_over(env, tmp_path):
    landing = tmp_path / "landing"
    for day in ("2026-06-01", "2026-06-02", "2026-06-03", "2026-06-05"):
        (landing / "web_orders" / day).mkdir(parents=True)
        (landing / "web_orders" / day / "o.csv").write_text("order_id\n")
    settings = load_settings()
    settings.warehouse_dir.mkdir()

    def loaded(*days: str) -> None:
        """Record the days' files in raw._files, as ingestion does."""
        with duckdb.connect(str(settings.warehouse_path)) as con:
            ensure_raw_schema(con)
            for day in days:
                con.execute(
                    "insert into raw._files (source, file, size_bytes) values ('web_orders', ?, 9)",
                    [f"web_orders/{day}/o.csv"],
                )

    # Nothing loaded yet: every day that is over; 06-05 is not over on 06-04.
    assert nightly_scope(settings, date(2026, 6, 4)) == RunScope(
        date(2026, 6, 3), date(2026, 6, 1), date(2026, 6, 3)
    )
    loaded("2026-06-01", "2026-06-03")
    assert nightly_scope(settings, date(2026, 6, 5)) == RunScope(
        date(2026, 6, 5), date(2026, 6, 2), date(2026, 6, 5)
    )
    loaded("2026-06-02", "2026-06-05")
    # Nothing new: the latest day again (it loads nothing and rebuilds).
    assert nightly_scope(settings, date(2026, 6, 5)) == RunScope(
        date(2026, 6, 5), date(2026, 6, 5), date(2026, 6, 5)
    )
    with pytest.raises(LandingRefused, match="not over yet"):
        nightly_scope(settings, date(2026, 5, 31))


def test_deliver_moves_the_next_held_day_in_and_never_merges_into_a_delivered_one(
    env, tmp_path, capsys
):
    held, landing = tmp_path / "held", tmp_path / "landing"
    for day in ("2026-07-01", "2026-07-02"):
        for source in ("web_orders", "pos_transactions"):
            (held / source / day).mkdir(parents=True)
            (held / source / day / "part.csv").write_text(f"{source} {day}\n")
    assert main(["deliver"]) == 0
    assert sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*.csv")) == [
        "pos_transactions/2026-07-01/part.csv",
        "web_orders/2026-07-01/part.csv",
    ]
    assert "delivered 2026-07-01" in capsys.readouterr().out
    (landing / "web_orders" / "2026-07-02").mkdir()  # already (partly) delivered
    assert main(["deliver"]) == 2
    assert "nothing was moved" in capsys.readouterr().err
    assert (held / "pos_transactions" / "2026-07-02" / "part.csv").exists()
    (landing / "web_orders" / "2026-07-02").rmdir()
    assert main(["deliver", "--days", "5"]) == 0
    assert not any(held.rglob("*.csv"))
    assert main(["deliver"]) == 2
    assert "holds no delivery days" in capsys.readouterr().err


def test_the_demo_is_not_generated_over_an_earlier_data_sets_held_days(tmp_path):
    held = tmp_path / "held" / "web_orders" / "2026-06-30"
    held.mkdir(parents=True)
    (held / "part.csv").write_text("order_id\nO1\n")
    env = {**os.environ, **data_root_env(tmp_path)}
    env.pop("AS_OF_DATE", None)
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run", "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "run refused, nothing was written" in done.stderr
    assert f"{tmp_path / 'held'} already holds files" in done.stderr
    assert (held / "part.csv").read_text() == "order_id\nO1\n"
    assert not any((tmp_path / "landing").rglob("*.*"))
