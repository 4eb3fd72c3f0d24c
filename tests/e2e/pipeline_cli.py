"""Running the real command line in a subprocess, as `make run` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.lib.settings import data_root_env


def isolated_env(root: Path) -> dict[str, str]:
    env = {**os.environ, **data_root_env(root)}
    env.pop("AS_OF_DATE", None)
    return env


def cli(env: dict[str, str], *args: str, module: str = "orchestration.cli"):
    """The command's completed process, whatever its exit code."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def run_cli(env: dict[str, str], *args: str, module: str = "orchestration.cli"):
    result = cli(env, *args, module=module)
    assert result.returncode == 0, (
        f"{module} {args} failed:\n{result.stdout}\n{result.stderr[-5000:]}"
    )
    return result


def table_checksums(path: Path, schema: str = "main") -> dict[str, str]:
    """Content hash of every table of a schema, independent of row order."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [schema],
            ).fetchall()
        ]
        return {
            t: con.execute(
                f"select count(*) || ':' || coalesce(sum(hash(t)), 0) from {schema}.\"{t}\" as t"
            ).fetchone()[0]
            for t in sorted(tables)
        }
