"""The Dagster instance's storage (orchestration/dagster.yaml `storage`): Dagster's own
SQLite storage under $DAGSTER_HOME, with the two writes that grow with a run's window of
days done in bulk. Both write exactly the rows Dagster writes (its UI and history read
them; tests/unit/test_instance.py compares them with Dagster's own storage).

- **The checks a run plans.** Dagster 1.13 gives every asset check of a run over a
  window of days one "planned" row per day of the window, whether the check is
  partitioned or not (the run's own partition subset is used for all of them), and
  builds those rows as one multi-row INSERT that serialises the same event again for
  each row. The nightly job has 191 checks: a run over 270 days writes 51,570 such rows
  before its first step, which took 39 s from the run's start to that step, 13 s with
  the event serialised once and the rows written by one executemany. (For a check that
  is not partitioned those per-day rows stay "planned" after it ran, beside a row with
  its result: Dagster's doing, kept as it is.)
- **The materializations of a window's days.** An asset run over N days reports N
  materializations, which Dagster hands over as one batch when
  DAGSTER_EVENT_BATCH_SIZE is set (orchestration/cli.py sets it) but SQLite stores one
  by one, each with its own connections and commits to the run's file and the index
  file: about 20 ms a day. Here a batch of asset events of one run goes to each file
  in one transaction: two assets over 270 days (540 materializations) ran in 2.5 s
  instead of 10-11.5 s (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from dagster._core.events import ASSET_EVENTS, AssetCheckEvaluationPlanned, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData, serialize_value


class WindowRunEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, with a run's planned check rows and batches of asset
    events written as described above."""

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """A batch of asset events of one run (a window's materializations) as
        SqliteEventLogStorage.store_event stores each, in one transaction per file;
        anything else one by one, as Dagster does."""
        run_ids = {event.run_id for event in events}
        if len(run_ids) != 1 or not all(
            event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS for event in events
        ):
            super().store_event_batch(events)
            return
        with self.run_connection(run_ids.pop()) as conn:
            conn.execute(self.prepare_insert_event_batch(events))
        with self.index_transaction() as conn:
            for event in events:
                event_id = conn.execute(self.prepare_insert_event(event)).inserted_primary_key[0]
                self._store_asset_event_tags(conn, [event], [event_id])
                self._store_asset_event(conn, event, event_id)

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
        self._event_log_storage = WindowRunEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value
    ) -> WarehouseSqliteStorage:
        return cls(inst_data=inst_data, **config_value)
