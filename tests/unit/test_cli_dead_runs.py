"""Runs of a killed `cli run` process are released; live ones are left alone."""

import socket
import subprocess
import sys

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from orchestration.cli import CLI_HOST_TAG, CLI_PID_TAG, release_dead_cli_runs


def _started_run(instance: dg.DagsterInstance, run_id: str, pid: int) -> None:
    tags = {CLI_PID_TAG: str(pid), CLI_HOST_TAG: socket.gethostname()}
    instance.add_run(
        DagsterRun(job_name="nightly", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags)
    )


def test_only_runs_of_dead_processes_are_marked_failed():
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(finished.stdout)
    with dg.instance_for_test() as instance:
        _started_run(instance, "killed", dead_pid)
        _started_run(instance, "alive", 1)  # pid 1 is always alive
        assert release_dead_cli_runs(instance) == ["killed"]
        assert instance.get_run_by_id("killed").status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id("alive").status == dg.DagsterRunStatus.STARTED
        assert release_dead_cli_runs(instance) == []
