"""End to end: generated landing files → `cli run` through Dagster → published marts.

Runs the real CLI in a subprocess against temporary directories, exactly as
`make run` does, then checks the warehouse against the generator's ground truth.
"""

from __future__ import annotations

import os

import duckdb
import pandas as pd
import pytest

from orchestration.lib.contract import SOURCES
from tests.e2e.pipeline_cli import isolated_env, run_cli, table_checksums

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    env = isolated_env(root)
    run_cli(env, "--customers=400", "--days=45", "--seed=11", module="orchestration.generator")
    first = run_cli(env, "run")
    return root, env, first


def test_run_succeeds_and_prints_the_summary(pipeline):
    root, _, first = pipeline
    out = first.stdout
    assert "(nightly): succeeded" in out
    assert f"published: {root / 'publish' / 'marts.duckdb'}" in out
    assert "checks:" in out and "customers:" in out and "revenue (USD):" in out
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


def test_run_is_recorded_in_the_dagster_instance(pipeline):
    import dagster as dg

    root, _, _ = pipeline
    os.environ["DAGSTER_HOME"] = str(root / "dagster")
    try:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()
            assert [r.job_name for r in runs] == ["nightly"]
            assert runs[0].status == dg.DagsterRunStatus.SUCCESS
    finally:
        del os.environ["DAGSTER_HOME"]


def test_second_run_and_reload_change_nothing(pipeline):
    root, env, _ = pipeline
    published = root / "publish" / "marts.duckdb"
    before = table_checksums(published)
    run_cli(env, "run")
    assert table_checksums(published) == before
    day = sorted(p.name for p in (root / "landing" / "web_orders").iterdir())[3]
    run_cli(env, "reload", day)
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
