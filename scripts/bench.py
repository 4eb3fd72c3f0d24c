"""`make bench`: wall time and peak memory of generating and running the pipeline.

Each phase runs in its own process, into `data/bench_<customers>/`, so the
figures are those a data engineer would see with `make generate HOLD_BACK=1`, `make run`,
`make deliver` and `make run`: a full build of every day but the last, then the last day
as a nightly increment, its share of that full build printed beside it.
`--increment` measures nightly increments instead: a full build of every day, and
in a second warehouse the days delivered as nights - all days before the middle
one, a run, the middle day alone (the increment after half the history), the days
up to the last one, a run, the last day alone (the increment after all of it).
`--engines duckdb,spark` builds the same generated days once per engine (WAREHOUSE_ENGINE),
each in its own warehouse, and prints each run's wall time, its dbt steps' share and
the ratio to the first engine's run.
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

from orchestration.generator.held import delivery_days, move_days
from orchestration.lib.settings import data_root_env

REPO = Path(__file__).resolve().parents[1]
# The cost is measured, not the gates: the demo plants a truncated file in one day, and a
# catch-up run of half a year logs far more merges than the trailing nights.
GATES_OFF = {"QUARANTINE_BLOCKS": "never", "IDENTITY_MERGES_FLOOR": "1000000000"}
# The nights run minutes apart, not a day: a lookback window of hours would read every
# earlier night again and measure a rebuild, not an increment.
NO_LOOKBACK = {"INCREMENTAL_LOOKBACK_HOURS": "0"}


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


def increments(args: argparse.Namespace, python: str) -> None:
    """Full build of every day, then the same days as nights (see the module docstring)."""
    root = REPO / "data" / f"bench_increment_{args.customers}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    full_env = {**os.environ, **data_root_env(root / "full"), **GATES_OFF, **NO_LOOKBACK}
    full_env.pop("AS_OF_DATE", None)
    sizes = [f"--customers={args.customers}", f"--days={args.days}", f"--seed={args.seed}"]
    generate = [python, "-m", "orchestration.generator", *sizes]
    run = [python, "-m", "orchestration.cli", "run"]
    measure(generate, full_env, root / "generate.log")
    nightly_env = {**full_env, **data_root_env(root / "nightly")}
    held = root / "held"
    shutil.copytree(root / "full" / "landing", held)
    days = delivery_days(held)
    middle = len(days) // 2
    nights = {
        f"nights 1-{middle} (first run)": days[:middle],
        f"night {middle + 1} (after {middle} days)": [days[middle]],
        f"nights {middle + 2}-{len(days) - 1}": days[middle + 1 : -1],
        f"night {len(days)} (after {len(days) - 1} days)": [days[-1]],
    }
    print(f"{'run':40}{'wall s':>10}{'peak MiB':>12}")
    full_seconds, peak = measure(run, full_env, root / "full.log")
    print(f"{f'full build, {len(days)} days':40}{full_seconds:>10.1f}{peak:>12.0f}")
    (root / "nightly" / "landing").mkdir(parents=True)
    for n, (label, batch) in enumerate(nights.items()):
        move_days(held, root / "nightly" / "landing", batch)
        seconds, peak = measure(run, nightly_env, root / f"night_{n}.log")
        share = f"  ({seconds / full_seconds:.1%} of the full build)" if len(batch) == 1 else ""
        print(f"{label:40}{seconds:>10.1f}{peak:>12.0f}{share}")


def step_seconds(dagster_home: Path, step_prefix: str, runs_back: int = 0) -> float:
    """The wall time of a run's steps whose key starts with `step_prefix`, from its Dagster
    instance: the last run, or the one `runs_back` runs before it."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_runs(limit=runs_back + 1)[runs_back]
        return sum(
            step.end_time - step.start_time
            for step in instance.get_run_step_stats(run.run_id)
            if step.step_key.startswith(step_prefix) and step.end_time
        )


def engines(args: argparse.Namespace, python: str) -> None:
    """The same landing files built in full once per engine (see the module docstring)."""
    root = REPO / "data" / f"bench_engines_{args.customers}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    base_env = {**os.environ, **data_root_env(root), **GATES_OFF, **NO_LOOKBACK}
    base_env.pop("AS_OF_DATE", None)
    sizes = [f"--customers={args.customers}", f"--days={args.days}", f"--seed={args.seed}"]
    seconds, _ = measure(
        [python, "-m", "orchestration.generator", *sizes], base_env, root / "generate.log"
    )
    print(f"generate: {seconds:.1f} s")
    print(f"{'engine':10}{'wall s':>10}{'dbt s':>10}{'peak MiB':>12}{'vs first':>10}")
    first = None
    for engine in args.engines.split(","):
        env = {
            **base_env,
            **{k: v for k, v in data_root_env(root / engine).items() if k != "LANDING_DIR"},
            "WAREHOUSE_ENGINE": engine,
        }
        seconds, peak = measure(
            [python, "-m", "orchestration.cli", "run"], env, root / f"{engine}.log"
        )
        first = first or seconds
        dbt = step_seconds(root / engine / "dagster", "dbt_")
        print(f"{engine:10}{seconds:>10.1f}{dbt:>10.1f}{peak:>12.0f}{seconds / first:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--increment", action="store_true", help="measure nightly increments")
    parser.add_argument("--engines", help="compare full builds on these engines: duckdb,spark")
    parser.add_argument(
        "--country-shares", help="the generator's population mix, e.g. CN=0.3,US=0.7"
    )
    args = parser.parse_args()
    if args.increment or args.engines:
        print(
            f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; customers: {args.customers:,}, "
            f"days: {args.days}, seed: {args.seed}"
        )
        (engines if args.engines else increments)(args, sys.executable)
        return

    root = REPO / "data" / f"bench_{args.customers}"
    shutil.rmtree(root, ignore_errors=True)
    env = {**os.environ, **data_root_env(root), **GATES_OFF, **NO_LOOKBACK}
    env.pop("AS_OF_DATE", None)
    python = sys.executable
    sizes = [f"--customers={args.customers}", f"--days={args.days}", f"--seed={args.seed}"]
    run = [python, "-m", "orchestration.cli", "run"]
    generate = [python, "-m", "orchestration.generator", *sizes, "--hold-back=1"]
    if args.country_shares:
        generate.append(f"--country-shares={args.country_shares}")
    full, night = f"full build, {args.days - 1} days", "night: the last day"
    phases = {  # label: (log name, command)
        "generate": ("generate", generate),
        full: ("full", run),
        "deliver the last day": ("deliver", [python, "-m", "orchestration.cli", "deliver"]),
        night: ("night", run),
    }
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"customers: {args.customers:,}, days: {args.days}, seed: {args.seed}")
    print(f"{'phase':32}{'wall s':>10}{'peak MiB':>12}")
    root.mkdir(parents=True)
    walls = {}
    for label, (log, argv) in phases.items():
        walls[label], peak = measure(argv, env, root / f"{log}.log")
        print(f"{label:32}{walls[label]:>10.1f}{peak:>12.0f}")
    print(f"the night costs {walls[night] / walls[full]:.1%} of the full build")
    for label, runs_back in ((full, 1), (night, 0)):
        scoring = step_seconds(root / "dagster", "feedback_text_scores", runs_back)
        print(f"text scoring in the {label}: {scoring:.1f} s ({scoring / walls[label]:.1%})")
    landing_bytes = sum(p.stat().st_size for p in (root / "landing").rglob("*") if p.is_file())
    warehouse = root / "warehouse" / "warehouse.duckdb"
    print(
        f"landing: {landing_bytes / 2**20:,.0f} MiB, "
        f"warehouse: {warehouse.stat().st_size / 2**20:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
