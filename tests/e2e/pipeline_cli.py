"""Running the real command line in a subprocess, as `make run` does."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from orchestration.generator.held import delivery_days, move_days
from orchestration.lib.settings import data_root_env
from tests.e2e.late_corrections import LateOrders, plant_late_and_corrections


def isolated_env(root: Path) -> dict[str, str]:
    env = {**os.environ, **data_root_env(root)}
    env.pop("AS_OF_DATE", None)
    return env


# A pipeline run on the tests' small data sets, on a loaded machine.
CLI_TIMEOUT_S = 900


def cli(
    env: dict[str, str],
    *args: str,
    module: str = "orchestration.cli",
    timeout: float = CLI_TIMEOUT_S,
):
    """The command's completed process, whatever its exit code."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cli(
    env: dict[str, str],
    *args: str,
    module: str = "orchestration.cli",
    timeout: float = CLI_TIMEOUT_S,
):
    result = cli(env, *args, module=module, timeout=timeout)
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
class Nights:
    """What the clean run's two nights left to compare: the first night's ids and what
    it held for the orders the second night corrects, and the second night's merge log,
    file statuses and summary."""

    first_night_ids: dict[tuple[str, str], str]
    late_orders: LateOrders
    merges: list[tuple[str, str, str]]
    statuses: dict[str, str]
    second_stdout: str
    late_day: str


@dataclass(frozen=True)
class CleanRun:
    root: Path
    checksums: dict[str, str]  # table -> content hash of the published marts file
    forgotten_customer_ref: str  # the planted right-to-be-forgotten request
    nights: Nights

    @property
    def published(self) -> Path:
        return self.root / "publish" / "marts.duckdb"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "warehouse.duckdb"


def identifier_ids(root: Path) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select identifier_type, identifier_value, customer_id "
            "from identity.customer_identifiers"
        ).fetchall()
    return {(t, v): c for t, v, c in rows}


# Delivered with the second night: the days from FIRST_NIGHT_DAYS on, one source's
# folder of day 11 (a day delivered late), and late and corrected orders
# (tests/e2e/late_corrections.py) of first-night days 11 to FIRST_NIGHT_DAYS - 7.
FIRST_NIGHT_DAYS = 40
LATE_SOURCE = "web_sessions"


def run_two_nights(root: Path, forgotten_ref: str) -> Nights:
    """Run the pipeline over root's landing set as two nights (see FIRST_NIGHT_DAYS),
    the second night's folders held back in root's held dir and delivered by
    `cli deliver`, as a user delivers the demo's held-back day."""
    env = pipeline_env(root)
    landing, held = root / "landing", root / "held"
    days = delivery_days(landing)
    late = landing / LATE_SOURCE / days[10]
    move_days(landing, held, days[FIRST_NIGHT_DAYS:])
    (held / LATE_SOURCE).mkdir(parents=True, exist_ok=True)
    late.rename(held / late.relative_to(landing))
    run_cli(env, "run")
    first_night_ids = identifier_ids(root)
    late_orders = plant_late_and_corrections(
        root / "warehouse" / "warehouse.duckdb",
        held / "web_orders" / days[-1],
        (date.fromisoformat(days[10]), date.fromisoformat(days[FIRST_NIGHT_DAYS - 8])),
        forgotten_ref,
    )
    # The late folder is the oldest held day: every held day is one more to deliver.
    run_cli(env, "deliver", f"--days={len(days) - FIRST_NIGHT_DAYS + 1}")
    assert delivery_days(held) == [] and delivery_days(landing) == days
    done = run_cli(env, "run")
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        merges = con.execute(
            "select change_type, old_customer_id, new_customer_id from identity.customer_merges"
        ).fetchall()
        statuses = dict(con.execute("select file, status from raw._files").fetchall())
    return Nights(first_night_ids, late_orders, merges, statuses, done.stdout, days[10])


def pipeline_env(root: Path) -> dict[str, str]:
    """The CLI's environment for a root, with the default masking key (none in the env)
    and no lookback window: the clean run's nights follow each other within minutes, and
    a window would have the second read again all the first loaded, where the proof
    needs it to read only what is new (the window is tested in dbt's unit tests and by
    test_pipeline's reload)."""
    env = {**isolated_env(root), "INCREMENTAL_LOOKBACK_HOURS": "0"}
    env.pop("PUBLISH_HASH_KEY", None)
    return env


def copy_state(src: Path, dest: Path) -> dict[str, str]:
    """Copy a pipeline root (landing, warehouse, published file, Dagster instance) and return
    the environment that points the CLI at the copy."""
    shutil.copytree(src, dest, symlinks=True)
    return pipeline_env(dest)
