"""The Dagster instance's storage (orchestration/dagster.yaml `storage`): Dagster's own
SQLite storage under $DAGSTER_HOME, with one write made fast.

Dagster 1.13 gives every asset check of a run over a window of days one "planned" row per
day of the window, whether the check is partitioned or not (the run's own partition
subset is used for all of them), and builds those rows as one multi-row INSERT that
serialises the same event again for each row. The nightly job has 191 checks: a run over
270 days writes 51,570 such rows before its first step, which took 39 s from the run's
start to that step, and 13 s with this storage (docs/benchmarks.md). The rows are kept exactly as
Dagster writes them (its UI and check history read them); only the event is serialised
once and the rows go in as one executemany. (For a check that is not partitioned those
per-day rows stay "planned" after it ran, beside a row of its result: Dagster's doing,
kept as it is.)
"""

from __future__ import annotations

import os
from typing import cast

from dagster._core.events import AssetCheckEvaluationPlanned, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData, serialize_value


class PlannedChecksAtOnceEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, writing a run's planned check rows as described above."""

    def store_asset_check_event(self, event: EventLogEntry, event_id: int | None) -> None:
        if event.dagster_event_type != DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            super().store_asset_check_event(event, event_id)
            return
        dagster_event = event.dagster_event
        assert dagster_event is not None
        planned = cast(AssetCheckEvaluationPlanned, dagster_event.event_specific_data)
        subset = planned.partitions_subset
        row = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        partitions = subset.get_partition_keys() if subset else [None]
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert(), [{**row, "partition": p} for p in partitions]
            )


class WarehouseSqliteStorage(DagsterSqliteStorage):
    """Dagster's default storage (runs, event logs and schedules in SQLite files under
    `base_dir`, laid out as Dagster lays them out) with the event log above."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = PlannedChecksAtOnceEventLogStorage(
            os.path.join(base_dir, "history", "runs", "")
        )

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value
    ) -> WarehouseSqliteStorage:
        return cls(inst_data=inst_data, **config_value)
