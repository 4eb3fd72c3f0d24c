"""Alerting on failed runs: a line in an alerts log, and the message handed to a command
of the operator's choice (mail, a chat webhook through curl…) on stdin."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

# Beside the Dagster instance: $DAGSTER_HOME/alerts.log.
ALERTS_LOG = "alerts.log"
# How much of an exception's message a summary line quotes.
CAUSE_CHARS = 400


def root_cause(error) -> str:
    """The first exception of a failed step, not the wrappers around it (Dagster's step
    error, "Exceeded max_retries"): `error` is a Dagster SerializableErrorInfo, whose
    `cause` links lead from the wrapper to what was raised first. A `Failure` raised on
    purpose shows its message only, any other exception its class and message."""
    while error.cause is not None:
        error = error.cause
    message = " ".join(error.message.split())
    # The message starts with the exception's qualified class name: keep the class only.
    qualified = re.match(r"(?:\w+\.)*(\w+): ", message)
    cls = qualified[1] if qualified else error.cls_name
    message = message[qualified.end() :] if qualified else message
    if len(message) > CAUSE_CHARS:
        message = message[: CAUSE_CHARS - 1] + "…"
    return message if cls in (None, "Failure") else f"{cls}: {message}"


def failed_steps(failure_events) -> list[str]:
    """One line per distinct root cause of Dagster step-failure events, naming its steps:
    twelve ingestion steps failing on one lock make one line, not twelve."""
    by_cause: dict[str, list[str]] = {}
    for event in failure_events:
        cause = root_cause(event.event_specific_data.error)
        by_cause.setdefault(cause, []).append(event.step_key)
    return [
        f"step{'s' if len(steps) > 1 else ''} failed: {', '.join(steps)}: {cause}"
        for cause, steps in by_cause.items()
    ]


def failure_message(job_name: str, run_id: str, reason: str) -> str:
    return f"omnichannel warehouse: run {run_id} of job {job_name} FAILED: {reason}"


def send_alert(message: str, log_path: Path, command: str | None) -> str | None:
    """Append the alert to `log_path`; run `command` with the message on stdin when set.
    Returns the command's problem, if any — an alert channel that is down must not hide
    the failure it reports, so it is logged, not raised."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    record = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "message": message}
    with log_path.open("a") as log:
        log.write(json.dumps(record) + "\n")
    if not command:
        return None
    try:
        done = subprocess.run(
            command, shell=True, input=message, text=True, capture_output=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        return f"ALERT_COMMAND timed out after 60 s: {command}"
    if done.returncode != 0:
        return f"ALERT_COMMAND exited {done.returncode}: {done.stderr.strip()[-500:]}"
    return None
