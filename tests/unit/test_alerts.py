"""Failed runs are logged and handed to the operator's alert command."""

import json

import dagster as dg
import duckdb

from orchestration.definitions import defs
from orchestration.lib.alerts import failed_steps, failure_message, send_alert


def test_alert_is_logged_and_piped_to_the_command(tmp_path):
    log = tmp_path / "dagster" / "alerts.log"
    received = tmp_path / "received.txt"
    message = failure_message("nightly", "run-1", "marts/fct_orders:revenue_reconciled_with_raw")
    assert send_alert(message, log, f"cat > {received}") is None
    assert received.read_text() == (
        "omnichannel warehouse: run run-1 of job nightly FAILED: "
        "marts/fct_orders:revenue_reconciled_with_raw"
    )
    assert json.loads(log.read_text())["message"] == message
    send_alert("second", log, None)
    assert [json.loads(line)["message"] for line in log.read_text().splitlines()] == [
        message,
        "second",
    ]


def test_a_broken_alert_command_is_reported_not_raised(tmp_path):
    problem = send_alert("boom", tmp_path / "alerts.log", "echo no route >&2; exit 3")
    assert problem == "ALERT_COMMAND exited 3: no route"
    assert "boom" in (tmp_path / "alerts.log").read_text()


def test_failure_sensor_is_registered_and_running_by_default():
    sensor = defs.resolve_sensor_def("alert_on_run_failure")
    assert sensor.default_status.value == "RUNNING"


def test_a_failed_step_is_named_by_its_first_exception_not_the_retry_wrapper():
    lock = (
        'IO Error: Could not set lock on file "/srv/warehouse.duckdb": Conflicting lock is '
        "held in /usr/bin/python3 (PID 4242)"
    )

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def raw_orders():
        raise duckdb.IOException(lock)

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def raw_sessions():
        raise duckdb.IOException(lock)

    @dg.asset
    def raw_tickets():
        raise dg.Failure("nothing loaded: the landing directory /mnt/x does not exist")

    result = dg.materialize([raw_orders, raw_sessions, raw_tickets], raise_on_error=False)
    events = sorted(result.get_step_failure_events(), key=lambda e: e.step_key)
    # What the summary used to print for every one of them:
    assert events[0].event_specific_data.error.message.strip() == "Exceeded max_retries of 2"
    assert set(failed_steps(events)) == {
        f"steps failed: raw_orders, raw_sessions: IOException: {lock}",
        "step failed: raw_tickets: nothing loaded: the landing directory /mnt/x does not exist",
    }
