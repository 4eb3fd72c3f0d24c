"""A pipeline run in its own process group that a test can watch and kill at a chosen point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable


class PipelineProcess:
    """`python -m orchestration.cli run`, stdout and stderr read line by line as they come."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "orchestration.cli", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # own process group: the kill takes dbt children too
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def _kill_group(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join()

    def kill_when(self, reached: Callable[[], bool], timeout: float) -> bool:
        """SIGKILL the whole group as soon as `reached()` holds (polled every 5 ms) while the
        run is still going. False if the run ended or the timeout passed first (the run is
        then killed anyway, so nothing outlives the test)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if reached():
                self._kill_group()
                return True
            time.sleep(0.005)
        if self.proc.poll() is None:
            self._kill_group()
        return False

    def stop(self) -> None:
        """Kill the run's group if it is still going (a fixture's teardown)."""
        if self.proc.poll() is None:
            self._kill_group()

    def finish(self, timeout: float) -> int | None:
        """The exit code, or None if the run had not ended after `timeout` s (it is killed)."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_group()
            return None
        self._reader.join()
        return code
