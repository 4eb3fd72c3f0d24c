"""Where a pipeline run's time went: its Dagster steps, and the slowest dbt nodes.

    python scripts/run_profile.py [--dagster-home DIR] [--run-id ID] [--top N]

Defaults to the latest run of $DAGSTER_HOME (the settings' default otherwise). Step
durations come from the run's event log; dbt node times from the run_results.json
each dbt step left in its engine's target directory (dbt_project/target/ on DuckDB,
dbt_project/target/spark/ on Spark), in <step>-<run id prefix>-*/. `make bench`
prints this after every pipeline run it measures.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from orchestration.lib.settings import ENGINES, REPO_ROOT, dbt_target_path, load_settings

DBT_TARGETS = [REPO_ROOT / "dbt_project" / dbt_target_path(engine) for engine in ENGINES]


def step_durations(dagster_home: Path, run_id: str | None) -> tuple[str, list[tuple[str, float]]]:
    """The run (latest if not given) and (step key, seconds) in start order."""
    os.environ["DAGSTER_HOME"] = str(dagster_home.resolve())
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        if run_id is None:
            runs = instance.get_runs(limit=1)
            if not runs:
                raise SystemExit(f"no run in {dagster_home}")
            run_id = runs[0].run_id
        stats = instance.get_run_step_stats(run_id)
        run = instance.get_run_stats(run_id)
    steps = sorted((s for s in stats if s.start_time and s.end_time), key=lambda s: s.start_time)
    rows = [(s.step_key, s.end_time - s.start_time) for s in steps]
    if run.start_time and steps:
        rows.insert(0, ("(before the first step)", steps[0].start_time - run.start_time))
    return run_id, rows


def dbt_node_times(run_id: str) -> list[tuple[str, str, float]]:
    """(dbt step, node, seconds) from every dbt invocation of the run."""
    rows = []
    pattern = f"*-{run_id[:7]}-*/run_results.json"
    for results in sorted(r for target in DBT_TARGETS for r in target.glob(pattern)):
        step = results.parent.name.rsplit("-", 2)[0]
        for node in json.loads(results.read_text())["results"]:
            rows.append((step, node["unique_id"].split(".", 2)[-1], node["execution_time"]))
    return rows


def report(dagster_home: Path, run_id: str | None = None, top: int = 15) -> str:
    run_id, steps = step_durations(dagster_home, run_id)
    lines = [f"run {run_id}: step durations"]
    lines += [f"  {key:60}{seconds:>9.1f} s" for key, seconds in steps]
    nodes = dbt_node_times(run_id)
    if nodes:
        for step in sorted({s for s, _, _ in nodes}):
            mine = [n for n in nodes if n[0] == step]
            lines.append(
                f"{step}: {len(mine)} nodes, {sum(t for _, _, t in mine):.1f} s of dbt thread "
                f"time; slowest:"
            )
            for _, node, seconds in sorted(mine, key=lambda n: -n[2])[:top]:
                lines.append(f"  {node[:70]:70}{seconds:>9.1f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dagster-home", type=Path, default=None)
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(report(args.dagster_home or load_settings().dagster_home, args.run_id, args.top))


if __name__ == "__main__":
    main()
