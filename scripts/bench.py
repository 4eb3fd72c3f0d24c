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

from orchestration.lib.settings import data_root_env

REPO = Path(__file__).resolve().parents[1]


def measure(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run argv to completion; return (wall seconds, peak RSS in MiB) of that process."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed (exit {os.waitstatus_to_exitcode(status)}): {' '.join(argv)}; see {log}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    root = REPO / "data" / f"bench_{args.customers}"
    shutil.rmtree(root, ignore_errors=True)
    env = {**os.environ, **data_root_env(root)}
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
    root.mkdir(parents=True)
    for label, argv in phases.items():
        seconds, peak = measure(argv, env, root / f"{argv[2].split('.')[-1]}.log")
        print(f"{label:32}{seconds:>10.1f}{peak:>12.0f}")
    landing_bytes = sum(p.stat().st_size for p in (root / "landing").rglob("*") if p.is_file())
    warehouse = root / "warehouse" / "warehouse.duckdb"
    print(
        f"landing: {landing_bytes / 2**20:,.0f} MiB, "
        f"warehouse: {warehouse.stat().st_size / 2**20:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
