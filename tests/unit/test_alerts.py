"""Failed runs are logged and handed to the operator's alert command."""

import json

from orchestration.definitions import defs
from orchestration.lib.alerts import failure_message, send_alert


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
