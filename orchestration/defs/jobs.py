"""Jobs, the nightly schedule and the landing-file sensor."""

import hashlib
import json
from datetime import date

import dagster as dg

from orchestration.defs.partitions import DELIVERY_DAYS, last_delivery_day
from orchestration.defs.resources import SettingsResource
from orchestration.lib.alerts import ALERTS_LOG, failed_steps, failure_message, send_alert
from orchestration.lib.landing import changed_days, day_fingerprints
from orchestration.lib.memory import release_freed_memory
from orchestration.lib.run_scope import RunScope


@dg.success_hook
def release_memory_after_success(_context: dg.HookContext) -> None:
    release_freed_memory()


@dg.failure_hook
def release_memory_after_failure(_context: dg.HookContext) -> None:
    release_freed_memory()


# After each step, what it freed goes back to the system (orchestration/lib/memory):
# the run's peak is its largest step, not the sum of what every step left behind.
RELEASE_MEMORY = {release_memory_after_success, release_memory_after_failure}

# Steps run one after another in the run's own process: every one of them writes
# the single-writer DuckDB file, so parallel steps would only wait on each other.
nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Ingest the window's delivery days, build every dbt model and test, run the "
    "models, publish the marts.",
    executor_def=dg.in_process_executor,
    hooks=RELEASE_MEMORY,
)

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("raw"),
    description="Load landing files of the window's delivery days into raw (a backfill; "
    "config reload: true loads them again from scratch).",
    executor_def=dg.in_process_executor,
    hooks=RELEASE_MEMORY,
)

# At 02:00 in the reporting time zone, the partition of the day that just ended.
nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_job,
    name="nightly_at_0200",
    hour_of_day=2,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Launches the pipeline for the delivery days whose landing files are new or "
    "changed (one run over the window from the first to the last such day).",
)
def landing_files_sensor(context: dg.SensorEvaluationContext, settings: SettingsResource):
    # The sensor never opens the warehouse (a reader would block the writer): it
    # compares each day's fingerprint with the one it last saw.
    values = settings.settings
    # A day is requested once it is a partition (over in the reporting time zone).
    last_day = last_delivery_day(DELIVERY_DAYS).isoformat()
    now = {day: p for day, p in day_fingerprints(values.landing_dir).items() if day <= last_day}
    if not now:
        return dg.SkipReason("the landing directory holds no delivery files of a day that is over")
    days = changed_days(now, json.loads(context.cursor) if context.cursor else {})
    if not days:
        return dg.SkipReason("no new or changed landing files since the last run request")
    cursor = json.dumps(now, sort_keys=True)
    context.update_cursor(cursor)
    scope = RunScope(
        as_of_date=values.as_of_date_override or date.fromisoformat(max(now)),
        window_start=date.fromisoformat(days[0]),
        window_end=date.fromisoformat(days[-1]),
    )
    # The cursor holds every day's fingerprint: its digest is the run key.
    return dg.RunRequest(run_key=hashlib.sha256(cursor.encode()).hexdigest(), tags=scope.tags())


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Appends every failed run to $DAGSTER_HOME/alerts.log and hands its summary "
    "to ALERT_COMMAND (stdin) when that is set.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, settings: SettingsResource):
    values = settings.settings
    causes = failed_steps(context.get_step_failure_events())
    message = failure_message(
        context.dagster_run.job_name,
        context.dagster_run.run_id,
        "; ".join(causes[:10]) or context.failure_event.message,
    )
    problem = send_alert(message, values.dagster_home / ALERTS_LOG, values.alert_command)
    if problem:
        context.log.warning(problem)
