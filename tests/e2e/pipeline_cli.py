"""Running the real command line in a subprocess, as `make run` does."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
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


# The clean run the e2e and reliability tests share (tests/conftest.py `clean_run`).
GENERATOR_ARGS = ("--customers=400", "--days=60", "--seed=11")
# Planted into its landing set by `plant_scenarios`.
FORGET_FILE = "crm_forget_request.csv"
RESENT_SUFFIX = "_resent"


def plant_scenarios(landing: Path) -> str:
    """Add to a generated landing set, in its last delivery day, what nightly increments
    must also get right: a customer of the first day asking to be forgotten (a later CRM
    version with is_deleted) and a file of the first day delivered again under another
    name. Returns the forgotten customer_ref."""
    days = sorted(p.name for p in landing.glob("crm_customers/*"))
    with next((landing / "crm_customers" / days[0]).glob("*.csv")).open(newline="") as f:
        reader = csv.DictReader(f)
        profile = next(reader)
        header = reader.fieldnames
    profile |= {"is_deleted": "true", "updated_at": f"{days[-1]}T12:00:00"}
    with (landing / "crm_customers" / days[-1] / FORGET_FILE).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerow(profile)
    first_orders = next((landing / "web_orders" / days[0]).iterdir())
    resent = first_orders.name.replace(".", f"{RESENT_SUFFIX}.", 1)
    shutil.copy2(first_orders, landing / "web_orders" / days[-1] / resent)
    return profile["customer_ref"]


@dataclass(frozen=True)
class CleanRun:
    root: Path
    checksums: dict[str, str]  # table -> content hash of the published marts file
    forgotten_customer_ref: str  # the planted right-to-be-forgotten request

    @property
    def published(self) -> Path:
        return self.root / "publish" / "marts.duckdb"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "warehouse.duckdb"


def pipeline_env(root: Path) -> dict[str, str]:
    """The CLI's environment for a root, with the default masking key (none in the env)."""
    env = isolated_env(root)
    env.pop("PUBLISH_HASH_KEY", None)
    return env


def copy_state(src: Path, dest: Path) -> dict[str, str]:
    """Copy a pipeline root (landing, warehouse, published file, Dagster instance) and return
    the environment that points the CLI at the copy."""
    shutil.copytree(src, dest, symlinks=True)
    return pipeline_env(dest)
