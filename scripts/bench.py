"""`make bench`: wall time and peak memory of generating and running the pipeline.

Each phase runs in its own process, into `data/bench_<customers>/`, so the
figures are those a data engineer would see with `make generate` and `make run`.
Record them in docs/benchmarks.md with the machine and the date.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(label: str, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run argv to completion; return (wall seconds, peak RSS in MiB) of that process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{label} failed (exit {os.waitstatus_to_exitcode(status)}): {' '.join(argv)}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    root = REPO / "data" / f"bench_{args.customers}"
    shutil.rmtree(root, ignore_errors=True)
    env = {
        **os.environ,
        "LANDING_DIR": str(root / "landing"),
        "GROUND_TRUTH_DIR": str(root / "ground_truth"),
        "WAREHOUSE_DIR": str(root / "warehouse"),
        "PUBLISH_DIR": str(root / "publish"),
        "DAGSTER_HOME": str(root / "dagster"),
    }
    env.pop("AS_OF_DATE", None)
    python = sys.executable
    sizes = [f"--customers={args.customers}", f"--days={args.days}", f"--seed={args.seed}"]
    phases = {
        "generate": [python, "-m", "orchestration.generator", *sizes],
        "run (ingest + dbt + publish)": [python, "-m", "orchestration.cli", "run"],
    }
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"customers: {args.customers:,}, days: {args.days}, seed: {args.seed}")
    print(f"{'phase':32}{'wall s':>10}{'peak MiB':>12}")
    for label, argv in phases.items():
        seconds, peak = measure(label, argv, env)
        print(f"{label:32}{seconds:>10.1f}{peak:>12.0f}")
    landing_bytes = sum(p.stat().st_size for p in (root / "landing").rglob("*") if p.is_file())
    warehouse = root / "warehouse" / "warehouse.duckdb"
    print(
        f"landing: {landing_bytes / 2**20:,.0f} MiB, "
        f"warehouse: {warehouse.stat().st_size / 2**20:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
