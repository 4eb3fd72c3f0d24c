"""Command line for data engineers: `python -m orchestration.cli run|reload|ui`.

`run` goes through Dagster (the run is recorded in the instance under
$DAGSTER_HOME and shows in `make ui`), then prints a summary read from the
warehouse.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb

from orchestration.lib.settings import Settings, load_settings

DEMO_CUSTOMERS = 10_000
DEMO_DAYS = 365
DEMO_SEED = 42
# Step starts, failures and warnings on the terminal; the full event log is in the UI.
CONSOLE_LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def prepare_dagster_home(settings: Settings) -> None:
    """Point Dagster at $DAGSTER_HOME (absolute) and give it our instance settings."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(Path(__file__).with_name("dagster.yaml"), config)


def landing_has_files(settings: Settings) -> bool:
    return settings.landing_dir.is_dir() and any(
        p.is_file() for p in settings.landing_dir.glob("*/*/*")
    )


def generate_demo(settings: Settings) -> None:
    from orchestration.generator import generate

    print(f"{settings.landing_dir} holds no files: generating the demo data set")
    summary = generate(
        customers=DEMO_CUSTOMERS,
        days=DEMO_DAYS,
        seed=DEMO_SEED,
        landing_dir=settings.landing_dir,
        ground_truth_dir=settings.ground_truth_dir,
    )
    print(
        f"  {DEMO_CUSTOMERS:,} customers, {DEMO_DAYS} days, seed {DEMO_SEED}: "
        f"{summary['total_rows']:,} rows in {sum(summary['files'].values()):,} files "
        f"({summary['seconds']} s); ground truth in {settings.ground_truth_dir}"
    )


def execute(job_name: str, run_config: dict | None = None) -> int:
    """Run a job of the definitions in this process, recorded in the Dagster instance."""
    import dagster as dg

    from orchestration.lib.summary import CheckTally, format_summary, headline, source_table
    from orchestration.project import prepare_manifest

    settings = load_settings()
    prepare_dagster_home(settings)
    os.environ.update(settings.dbt_env())
    prepare_manifest(force=True)
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            run_config={**(run_config or {}), **CONSOLE_LOG_CONFIG},
            raise_on_error=False,
        )
        run_id = result.run_id
    checks = CheckTally()
    for evaluation in result.get_asset_check_evaluations():
        checks.add(
            f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
            evaluation.passed,
            blocking=evaluation.severity == dg.AssetCheckSeverity.ERROR,
        )
    for failure in result.get_step_failure_events():
        print(f"step failed: {failure.step_key}: {failure.event_specific_data.error.message}")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        try:
            figures = headline(con)
        except duckdb.CatalogException:
            figures = {"customers": 0, "orders": 0, "revenue_usd": 0}
        published = settings.publish_path if settings.publish_path.exists() else "not published"
        print()
        print(f"run {run_id} ({job_name}): {'succeeded' if result.success else 'FAILED'}")
        print(f"as of {settings.as_of_date()}, warehouse {settings.warehouse_path}")
        print(format_summary(source_table(con, run_id), figures, checks, str(published)))
    return 0 if result.success else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="generate demo data if landing is empty, then run nightly")
    reload_cmd = commands.add_parser("reload", help="load delivery days again, then rebuild")
    reload_cmd.add_argument("dates", nargs="+", type=date.fromisoformat, metavar="YYYY-MM-DD")
    commands.add_parser("ui", help="the Dagster UI on the same instance as `run`")
    args = parser.parse_args(argv)

    settings = load_settings()
    if args.command == "ui":
        prepare_dagster_home(settings)
        os.environ["WAREHOUSE_DIR"] = str(settings.warehouse_dir)
        # `dagster dev` re-parses the dbt project with the `dbt` found on PATH.
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        dagster = Path(sys.executable).with_name("dagster")
        os.execv(dagster, [str(dagster), "dev", "-m", "orchestration.definitions"])
    if args.command == "run":
        if landing_has_files(settings):
            print(f"loading the files already in {settings.landing_dir}")
        else:
            generate_demo(settings)
        return execute("nightly")
    from orchestration.defs.ingestion.assets import reload_run_config

    return execute("nightly", reload_run_config([d.isoformat() for d in args.dates]))


if __name__ == "__main__":
    sys.exit(main())
