"""The DuckDB limits (DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, DUCKDB_TEMP_DIRECTORY) hold in
the pipeline's own connections and in the connection dbt opens through profiles.yml,
instead of DuckDB's default of 80 % of the host's memory."""

from __future__ import annotations

import os
import subprocess

import duckdb

from orchestration.defs.resources import WarehouseResource
from orchestration.lib.publish import publish_marts
from orchestration.lib.settings import load_settings
from orchestration.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

SHOW = (
    "select current_setting('memory_limit') as memory, current_setting('threads') as threads,"
    " current_setting('temp_directory') as spill, current_setting('TimeZone') as tz"
)


def limited_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path))
    monkeypatch.setenv("AS_OF_DATE", "2024-01-01")
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "1GiB")
    monkeypatch.setenv("DUCKDB_THREADS", "1")
    monkeypatch.setenv("DUCKDB_TEMP_DIRECTORY", str(tmp_path / "spill"))
    return load_settings()


def test_pipeline_connections_carry_the_limits(monkeypatch, tmp_path):
    settings = limited_settings(monkeypatch, tmp_path)
    warehouse = WarehouseResource.from_settings(settings)
    with warehouse.connect() as con:
        assert con.execute(SHOW).fetchone() == ("1.0 GiB", 1, str(tmp_path / "spill"), "UTC")
        con.execute("create schema marts; create table marts.t as select 1 as x")
    # The publish step's connection to the file it builds (and through it the warehouse).
    publish_marts(settings.warehouse_path, tmp_path / "publish", {"t": []}, "k", settings.duckdb)
    with duckdb.connect(str(tmp_path / "publish" / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select x from t").fetchall() == [(1,)]


def test_dbt_connections_carry_the_limits(monkeypatch, tmp_path):
    settings = limited_settings(monkeypatch, tmp_path)
    done = subprocess.run(
        [
            DBT_EXECUTABLE,
            "show",
            "--inline",
            SHOW,
            "--output",
            "json",
            "--log-format",
            "text",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env={**os.environ, **settings.dbt_env()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert '"memory": "1.0 GiB"' in done.stdout and '"threads": 1' in done.stdout
    assert f'"spill": "{tmp_path / "spill"}"' in done.stdout and '"tz": "UTC"' in done.stdout
