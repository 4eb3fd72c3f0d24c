"""A run that fails says why: with another process holding the warehouse file, the summary
and the alert name the lock (the first exception of each step, not Dagster's "Exceeded
max_retries"), once for all the steps it stopped, and print no figure of an earlier run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.pipeline_cli import cli, copy_state

pytestmark = pytest.mark.e2e

HOLD = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(600)
"""


def test_a_locked_warehouse_is_named_as_the_cause(clean_run, tmp_path):
    # the retries of each ingestion step still happen, without their wait
    env = {**copy_state(clean_run.root, tmp_path / "root"), "INGEST_RETRY_DELAY_S": "0"}
    warehouse = tmp_path / "root" / "warehouse" / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        done = cli(env, "run")
    finally:
        holder.kill()
        holder.wait()
    out = done.stdout
    assert done.returncode == 1, out[-3000:]
    summary = out[out.index("(nightly): FAILED") :]
    cause = f'IOException: IO Error: Could not set lock on file "{warehouse}"'
    (failed,) = [line for line in summary.splitlines() if line.startswith("steps failed: ")]
    assert failed.startswith("steps failed: raw__app_events, raw__campaign_events, ")
    assert cause in failed and f"(PID {holder.pid})" in failed
    assert "Exceeded max_retries" not in summary
    # The warehouse holds the clean run's marts and models: none of them is shown as this run's.
    assert "sources: nothing ingested in this run" in summary
    assert "customers, orders, revenue: the marts were not rebuilt in this run" in summary
    assert "customers: " not in summary and "CLV (" not in summary
    assert "checks: 0 passed, 0 failed, 0 warnings" in summary
    assert "published: not published" in summary
    (alert,) = (tmp_path / "root" / "dagster" / "alerts.log").read_text().splitlines()
    message = json.loads(alert)["message"]
    assert cause in message and "Exceeded max_retries" not in message
