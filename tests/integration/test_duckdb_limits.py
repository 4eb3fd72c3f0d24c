"""The DuckDB limits (DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, DUCKDB_TEMP_DIRECTORY) hold in
the pipeline's own connections and in the connection dbt opens through profiles.yml,
instead of DuckDB's default of 80 % of the host's memory."""

from __future__ import annotations

import os
import subprocess

import duckdb

from orchestration.defs.resources import WarehouseResource
from orchestration.lib.publish import PublishedMart, publish_marts
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
    publish_marts(
        settings.warehouse_path, tmp_path / "publish", {"t": PublishedMart()}, "k", settings.duckdb
    )
    with duckdb.connect(str(tmp_path / "publish" / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select x from t").fetchall() == [(1,)]


def test_connections_after_a_spill_keep_working(monkeypatch, tmp_path):
    """Once a database has spilled, DuckDB refuses any SET of temp_directory, even to the
    same value: at 1M customers a per-connection SET failed every model after the first
    spill. The limits are given when the database opens; later connections to it (the
    pipeline's, in the same process, and dbt-duckdb's cursor per model) only set the
    time zone."""
    limited_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "64MiB")
    settings = load_settings()
    warehouse = WarehouseResource.from_settings(settings)
    with warehouse.connect() as con:
        con.execute(
            "create table spilled as select i % 500000 as k, md5(i::varchar) as v "
            "from range(3000000) as r(i) order by v"
        )
        # DuckDB creates the directory when it first spills
        assert settings.duckdb.temp_directory.is_dir(), "the sort did not spill"
        with warehouse.connect() as again:
            assert again.execute(SHOW).fetchone()[2:] == (str(tmp_path / "spill"), "UTC")
        cursor = con.cursor()
        cursor.execute("set TimeZone = 'UTC'")
        assert cursor.execute("select count(*) from spilled").fetchone() == (3_000_000,)


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
