"""Alerting on failed runs: a line in an alerts log, and the message handed to a command
of the operator's choice (mail, a chat webhook through curl…) on stdin."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path


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
