"""The Dagster instance's storage (orchestration/instance.py): the check rows a run over a
window of days plans are the rows Dagster's own SQLite storage writes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from orchestration.instance import PlannedChecksAtOnceEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=DAYS)
def deliveries() -> None:
    pass


@dg.asset_check(asset=deliveries)
def deliveries_complete() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _check_rows(home: Path, yaml: Path | None) -> list[tuple]:
    """Run the asset and its (unpartitioned) check over three days on an instance in
    `home` configured by `yaml` (None: Dagster's defaults); the check rows it left."""
    home.mkdir()
    if yaml:
        shutil.copyfile(yaml, home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            if yaml:
                assert isinstance(instance.event_log_storage, PlannedChecksAtOnceEventLogStorage)
            job = dg.Definitions(assets=[deliveries], asset_checks=[deliveries_complete])
            result = job.resolve_implicit_global_asset_job_def().execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": "2026-01-02",
                    "dagster/asset_partition_range_end": "2026-01-04",
                },
            )
            assert result.success
    with sqlite3.connect(home / "history" / "runs" / "index.db") as con:
        return con.execute(
            "select asset_key, check_name, partition, execution_status "
            "from asset_check_executions order by partition"
        ).fetchall()


def test_a_window_run_plans_the_same_check_rows_as_dagsters_own_storage(tmp_path):
    ours = _check_rows(tmp_path / "ours", Path("orchestration/dagster.yaml").resolve())
    dagsters = _check_rows(tmp_path / "dagster", None)
    assert ours == dagsters
    # one row per day of the window, as Dagster writes them
    # Dagster's rows: the evaluation's, and a planned row per day of the window that
    # stays planned (the check is not partitioned; the run's days are used for it)
    days = ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert [row[2:] for row in ours] == [(None, "SUCCEEDED"), *((d, "PLANNED") for d in days)]
