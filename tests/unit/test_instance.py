"""The Dagster instance's storage (orchestration/instance.py): what a run over a window of
days writes, its planned check rows and its materializations, is what Dagster's own SQLite
storage writes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from orchestration.cli import STORE_WINDOWS_IN_BATCHES
from orchestration.instance import WindowRunEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01")
WINDOW = ["2026-01-02", "2026-01-03", "2026-01-04"]
# What is compared: the rows, without the ids, run ids and times that differ by run.
STORED = {
    "index": {
        "event_logs": "dagster_event_type, asset_key, partition, step_key",
        "asset_keys": "asset_key, last_materialization is not null, asset_details, tags",
        "asset_check_executions": "asset_key, check_name, partition, execution_status",
    },
    "run": {"event_logs": "dagster_event_type, asset_key, partition, step_key"},
}


@dg.asset(partitions_def=DAYS)
def deliveries() -> None:
    pass


@dg.asset_check(asset=deliveries)
def deliveries_complete() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _stored(home: Path, yaml: Path | None) -> dict[str, list[tuple]]:
    """Run the asset and its (unpartitioned) check over WINDOW on an instance in `home`
    configured by `yaml` (None: Dagster's defaults), with the CLI's event batches; the
    rows it stored (STORED)."""
    home.mkdir()
    if yaml:
        shutil.copyfile(yaml, home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home))
        for name, value in STORE_WINDOWS_IN_BATCHES.items():
            env.setenv(name, value)
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            if yaml:
                assert isinstance(instance.event_log_storage, WindowRunEventLogStorage)
            job = dg.Definitions(assets=[deliveries], asset_checks=[deliveries_complete])
            result = job.resolve_implicit_global_asset_job_def().execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": WINDOW[0],
                    "dagster/asset_partition_range_end": WINDOW[-1],
                },
            )
            assert result.success
    runs = home / "history" / "runs"
    files = {"index": runs / "index.db", "run": runs / f"{result.run_id}.db"}
    stored = {}
    for file, tables in STORED.items():
        with sqlite3.connect(files[file]) as con:
            for table, columns in tables.items():
                rows = con.execute(f"select {columns} from {table} order by id").fetchall()
                stored[f"{file}.{table}"] = rows
    return stored


def test_a_window_run_stores_what_dagsters_own_storage_stores(tmp_path):
    ours = _stored(tmp_path / "ours", Path("orchestration/dagster.yaml").resolve())
    assert ours == _stored(tmp_path / "dagster", None)
    # one materialization per day, in order
    materialized = [row[2] for row in ours["run.event_logs"] if row[0] == "ASSET_MATERIALIZATION"]
    assert materialized == WINDOW
    # Dagster's check rows: a planned row per day of the window that stays planned (the
    # check is not partitioned; the run's days are used for it), and the result's row
    assert [row[2:] for row in ours["index.asset_check_executions"]] == [
        *((day, "PLANNED") for day in WINDOW),
        (None, "SUCCEEDED"),
    ]
