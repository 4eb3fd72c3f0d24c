"""Jobs, the nightly schedule and the landing-file sensor."""

import json
import os

import dagster as dg

from orchestration.lib.alerts import ALERTS_LOG, failed_steps, failure_message, send_alert
from orchestration.lib.landing import landing_fingerprint
from orchestration.lib.settings import load_settings

# Steps run one after another in the run's own process: every one of them writes
# the single-writer DuckDB file, so parallel steps would only wait on each other.
nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Ingest new landing files, build every dbt model and test, publish the marts.",
    executor_def=dg.in_process_executor,
)

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("raw"),
    description="Load landing files into raw; configure delivery_dates/reload to backfill a day.",
    executor_def=dg.in_process_executor,
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_at_0200",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=load_settings().reporting_tz,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Launches the pipeline when files appear or change in the landing directory.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    # The sensor never opens the warehouse (a reader would block the writer): it
    # compares a fingerprint of the landing directory with the one it last saw.
    fingerprint = landing_fingerprint(load_settings().landing_dir)
    if fingerprint["files"] == 0:
        return dg.SkipReason("the landing directory holds no files")
    cursor = json.dumps(fingerprint, sort_keys=True)
    if cursor == context.cursor:
        return dg.SkipReason("no new landing files since the last run request")
    context.update_cursor(cursor)
    return dg.RunRequest(run_key=cursor)


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Appends every failed run to $DAGSTER_HOME/alerts.log and hands its summary "
    "to ALERT_COMMAND (stdin) when that is set.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext):
    causes = failed_steps(context.get_step_failure_events())
    message = failure_message(
        context.dagster_run.job_name,
        context.dagster_run.run_id,
        "; ".join(causes[:10]) or context.failure_event.message,
    )
    problem = send_alert(
        message, load_settings().dagster_home / ALERTS_LOG, os.environ.get("ALERT_COMMAND")
    )
    if problem:
        context.log.warning(problem)
