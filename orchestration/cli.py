"""Command line for data engineers: `python -m orchestration.cli run|reload|rollback|evaluate|ui`.

`run` goes through Dagster (the run is recorded in the instance under
$DAGSTER_HOME and shows in `make ui`), then prints a summary read from the
warehouse.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb

from orchestration.lib.run_scope import RunScope
from orchestration.lib.settings import Settings, load_settings

DEMO_CUSTOMERS = 10_000
DEMO_DAYS = 365
DEMO_SEED = 42
# The demo's last day is held back, to be delivered as a nightly increment (`deliver`).
DEMO_HELD_DAYS = 1
# Which process runs an in-process run, to recognise the runs of a killed process.
CLI_PID_TAG = "omnichannel/cli_pid"
CLI_HOST_TAG = "omnichannel/cli_host"
# Step starts, failures and warnings on the terminal; the full event log is in the UI.
CONSOLE_LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


# A run over a window of days plans every asset of the job once per day of the window
# (the unpartitioned dbt, model and publish assets too) unless told to plan the window as
# one subset: 81 assets x 365 days were ~30,000 events and 5 minutes on SQLite before a
# first load started. The price: a failed multi-day run does not mark its days failed in
# the UI (the run itself is). Set for this process and what it starts (`make ui`).
PLAN_WINDOWS_AS_ONE = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}
# A step over a window of days hands its materializations (one per day) to the storage in
# batches of up to this many, which orchestration/instance.py writes in one transaction.
STORE_WINDOWS_IN_BATCHES = {"DAGSTER_EVENT_BATCH_SIZE": "1000"}


def prepare_dagster_home(settings: Settings) -> None:
    """Point Dagster at $DAGSTER_HOME (absolute) and give it our instance settings."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    os.environ.update({**PLAN_WINDOWS_AS_ONE, **STORE_WINDOWS_IN_BATCHES})
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(Path(__file__).with_name("dagster.yaml"), config)


class LandingRefused(RuntimeError):
    """The landing directory cannot be loaded, and demo data is not to be made up for it."""


def plan_landing(settings: Settings, demo: bool = False) -> str:
    """`load` the deliveries in the landing directory, or `generate` the demo data set into
    it first. Demo data is made only when asked (`--demo`) or when LANDING_DIR is not set
    and the default data/landing holds nothing (a fresh clone): an explicit LANDING_DIR
    that is missing or empty (an unmounted share, a typo in a cron line) is refused."""
    problem = settings.landing_problem()
    if problem is None:
        return "load"
    if demo or not settings.landing_dir_chosen:
        return "generate"
    raise LandingRefused(
        f"run refused, nothing was written: {problem}. Point LANDING_DIR at the directory "
        "the source systems deliver to, or run `make demo` for the demo data set."
    )


def generate_demo(settings: Settings) -> None:
    from orchestration.generator import generate

    print(f"{settings.landing_dir} holds no deliveries: generating the demo data set")
    summary = generate(
        customers=DEMO_CUSTOMERS,
        days=DEMO_DAYS,
        seed=DEMO_SEED,
        landing_dir=settings.landing_dir,
        ground_truth_dir=settings.ground_truth_dir,
        held_dir=settings.held_dir,
        hold_back_days=DEMO_HELD_DAYS,
    )
    print(
        f"  {DEMO_CUSTOMERS:,} customers, {DEMO_DAYS} days, seed {DEMO_SEED}: "
        f"{summary['total_rows']:,} rows in {sum(summary['files'].values()):,} files "
        f"({summary['seconds']} s); ground truth in {settings.ground_truth_dir}; "
        f"held back for `make deliver`: {', '.join(summary['held_days'])}"
    )


def deliver(settings: Settings, days: int) -> int:
    """Move the next held days of a generated data set into the landing directory."""
    from orchestration.generator.held import deliver_next, delivery_days

    if days < 1:
        print(f"deliver refused: --days must be at least 1, got {days}", file=sys.stderr)
        return 2
    try:
        delivered = deliver_next(settings.held_dir, settings.landing_dir, days)
    except FileExistsError as exc:
        print(f"deliver refused: {exc}", file=sys.stderr)
        return 2
    if not delivered:
        print(
            f"nothing to deliver: {settings.held_dir} holds no delivery days "
            "(the demo holds back its last day; `make generate HOLD_BACK=N` holds back N)",
            file=sys.stderr,
        )
        return 2
    left = len(delivery_days(settings.held_dir))
    print(
        f"delivered {', '.join(delivered)} into {settings.landing_dir}; "
        f"{left} day(s) still held in {settings.held_dir}; `make run` loads them"
    )
    return 0


def alert(settings: Settings, job_name: str, run_id: str, reason: str) -> None:
    """Runs from the command line (cron, CI) alert like the daemon's failure sensor does."""
    from orchestration.lib.alerts import ALERTS_LOG, failure_message, send_alert

    problem = send_alert(
        failure_message(job_name, run_id, reason),
        settings.dagster_home / ALERTS_LOG,
        settings.alert_command,
    )
    if problem:
        print(problem)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def release_dead_cli_runs(instance) -> list[str]:
    """Runs this command line started in-process whose process is gone (killed, power
    loss): mark them failed and free their `warehouse` pool slot, which would otherwise
    block every later run. Runs of the daemon are left to its run monitoring."""
    import dagster as dg

    released = []
    active = dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
        tags={CLI_HOST_TAG: socket.gethostname()},
    )
    for run in instance.get_runs(filters=active):
        pid = run.tags.get(CLI_PID_TAG)
        if pid is None or _process_alive(int(pid)):
            continue
        instance.report_run_failed(run, f"its process {pid} is gone (killed or crashed)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


def recorded_files(settings: Settings) -> dict[str, int | None]:
    """Every landing entry raw._files records, with its size (nothing if no warehouse yet).
    Read-only and closed at once: the run that follows is the writer."""
    if not settings.warehouse_path.exists():
        return {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        has_files = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = '_files'"
        ).fetchone()[0]
        if not has_files:
            return {}
        return dict(con.execute("select file, size_bytes from raw._files").fetchall())


def nightly_scope(settings: Settings, last_day: date) -> RunScope:
    """The scope of `run`: the delivery days from the first to the last one holding files
    not loaded yet (new, or changed in size), as of AS_OF_DATE or the latest delivery day.
    With nothing new, the latest delivery day again (it loads nothing and rebuilds). Days
    after `last_day` (not over yet) wait for a later run."""
    from orchestration.lib.landing import days_to_load

    delivered = [day for day in settings.delivery_dates() if day <= last_day]
    if not delivered:
        raise LandingRefused(
            f"run refused: every delivery folder in {settings.landing_dir} is dated after "
            f"{last_day}, a day not over yet in {settings.reporting_tz} (REPORTING_TZ)"
        )
    try:
        pending = days_to_load(settings.landing_dir, recorded_files(settings))
    except duckdb.Error:  # the warehouse is busy: look at every day (loads only what is new)
        pending = delivered
    if later := [day for day in pending if day > last_day]:
        print(
            f"delivery days {', '.join(map(str, later))} are not over yet: a later run loads them"
        )
    pending = [day for day in pending if day <= last_day] or delivered[-1:]
    as_of = settings.as_of_date_override or delivered[-1]
    return RunScope(as_of, pending[0], pending[-1])


def execute(job_name: str, scope: RunScope, run_config: dict | None = None) -> int:
    """Run a job of the definitions in this process over `scope` (its partition window
    and as-of date, carried by the run's tags), recorded in the Dagster instance."""
    import dagster as dg

    from orchestration.lib.alerts import failed_steps
    from orchestration.lib.dbt_args import dbt_vars
    from orchestration.lib.summary import CheckTally, RunReport, format_summary, run_report
    from orchestration.project import prepare_manifest

    settings = load_settings()
    prepare_dagster_home(settings)
    os.environ.update(settings.dbt_env())
    # The run id is fixed first so that the manifest is parsed with the very vars (and
    # target) the run's dbt builds get: they reuse this parse instead of parsing again.
    run_id = str(uuid.uuid4())
    prepare_manifest(force=True, dbt_vars=dbt_vars(settings, scope, run_id), engine=settings.engine)
    from orchestration.definitions import defs
    from orchestration.defs.partitions import DELIVERY_DAYS, last_delivery_day

    if not all(
        DELIVERY_DAYS.has_partition_key(day.isoformat())
        for day in (scope.window_start, scope.window_end)
    ):
        print(
            f"run refused: {scope.window_start}..{scope.window_end} is not within the delivery "
            f"days ({DELIVERY_DAYS.start.date()} to {last_delivery_day(DELIVERY_DAYS)} in "
            f"{settings.reporting_tz}; PARTITIONS_START_DATE sets the first)",
            file=sys.stderr,
        )
        return 2
    print(f"delivery days {scope.window_start} to {scope.window_end}, as of {scope.as_of_date}")
    job = defs.resolve_job_def(job_name)
    with dg.DagsterInstance.get() as instance:
        for dead in release_dead_cli_runs(instance):
            print(f"run {dead} of a killed `cli` process marked failed; its pool slot is free")
        result = job.execute_in_process(
            instance=instance,
            run_config={**(run_config or {}), **CONSOLE_LOG_CONFIG},
            raise_on_error=False,
            run_id=run_id,
            tags={
                **scope.tags(),
                CLI_PID_TAG: str(os.getpid()),
                CLI_HOST_TAG: socket.gethostname(),
            },
        )
    checks = CheckTally()
    for evaluation in result.get_asset_check_evaluations():
        checks.add(
            f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
            evaluation.passed,
            blocking=evaluation.severity == dg.AssetCheckSeverity.ERROR,
            why=evaluation.description,
        )
    failures = failed_steps(result.get_step_failure_events())
    if not result.success:
        alert(
            settings,
            job_name,
            run_id,
            "; ".join([*failures, *checks.failures][:10]) or "see the run in the UI",
        )
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    print()
    print(f"run {run_id} ({job_name}): {'succeeded' if result.success else 'FAILED'}")
    print(
        f"as of {scope.as_of_date}, warehouse {settings.warehouse_path} (dbt on {settings.engine})"
    )
    published = settings.publish_path if "publish/marts_duckdb" in built else "not published"
    try:
        with settings.duckdb.connect(settings.warehouse_path, read_only=True) as con:
            report = run_report(con, run_id, scope.as_of_date, built)
    except duckdb.Error as exc:  # e.g. another process holds the file
        report = RunReport([], None, [f"(the warehouse could not be read for the summary: {exc})"])
    print(format_summary(report, checks, str(published)))
    if failures:
        print("\n".join(failures))
    return 0 if result.success else 1


def evaluate(settings: Settings, cutoff: date | None) -> int:
    """Print the holdout report and write it to $WAREHOUSE_DIR/evaluation/."""
    from datetime import timedelta

    from orchestration.ml.holdout import CLV_WINDOW_DAYS, evaluate_holdout
    from orchestration.project import DBT_EXECUTABLE

    as_of = settings.as_of_date_for_new_run()
    window = max(settings.churn_horizon_days, CLV_WINDOW_DAYS)
    cutoff = cutoff or as_of - timedelta(days=window)
    out_dir = settings.warehouse_dir / "evaluation"
    report = evaluate_holdout(
        settings.warehouse_path,
        out_dir / f"scratch_{cutoff}",
        cutoff,
        as_of,
        horizon_days=settings.churn_horizon_days,
        dbt=DBT_EXECUTABLE,
        duckdb_limits=settings.duckdb,
        clv_model=settings.clv_model,
        max_training_rows=settings.churn_max_training_rows,
    )
    text = report.to_markdown()
    path = out_dir / f"holdout_{cutoff}.md"
    path.write_text(text + "\n")
    shutil.rmtree(out_dir / f"scratch_{cutoff}")
    print(text)
    print(f"\nwritten to {path}")
    return 0


def metricflow_env(settings: Settings) -> dict[str, str]:
    """What MetricFlow's `mf` runs with, from the dbt project directory: the dbt settings,
    with the warehouse opened read-only, since a query must never write to it. The
    project's parse, which writes the semantic manifest `mf` reads, is brought up to
    date first."""
    from orchestration.project import prepare_manifest

    prepare_manifest()
    env = settings.dbt_env()
    config = {**json.loads(env["WAREHOUSE_DUCKDB_CONFIG"]), "access_mode": "READ_ONLY"}
    env["WAREHOUSE_DUCKDB_CONFIG"] = json.dumps(config)
    return env


def query_metrics(settings: Settings, mf_args: list[str]) -> int:
    """MetricFlow's `mf` command (`metrics query --metrics revenue --group-by
    metric_time__month`) on the current warehouse (`metricflow_env`)."""
    from orchestration.project import DBT_PROJECT_DIR

    if not settings.warehouse_path.exists():
        print(f"no warehouse at {settings.warehouse_path}: run `make run` first", file=sys.stderr)
        return 2
    env = {**os.environ, **metricflow_env(settings)}
    mf = Path(sys.executable).with_name("mf")
    return subprocess.run([mf, *mf_args], cwd=DBT_PROJECT_DIR, env=env).returncode


def roll_back(settings: Settings) -> int:
    """Put the previous published version back (`make rollback`); twice undoes it."""
    from orchestration.lib.publish import rollback

    try:
        path = rollback(settings.publish_dir)
    except RuntimeError as exc:  # nothing to roll back to, or a publish is running
        print(f"rollback refused: {exc}", file=sys.stderr)
        return 1
    print(f"rolled back: {path} is the previous version again (run rollback again to undo)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser(
        "run",
        help="run nightly on the landing files (demo data only with --demo, or when "
        "LANDING_DIR is not set and data/landing is empty)",
    )
    run_cmd.add_argument(
        "--demo",
        action="store_true",
        help="generate the demo data set into the landing directory first if it holds none",
    )
    run_cmd.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental dbt models from all of raw (the merge log is kept)",
    )
    reload_cmd = commands.add_parser(
        "reload",
        help="load the delivery days FROM..TO again from scratch (a backfill, days in order), "
        "then rebuild and publish",
    )
    reload_cmd.add_argument("first", type=date.fromisoformat, metavar="FROM")
    reload_cmd.add_argument(
        "last", type=date.fromisoformat, nargs="?", metavar="TO", help="default: FROM"
    )
    evaluate_cmd = commands.add_parser(
        "evaluate", help="holdout evaluation of the CLV and churn models at an earlier cutoff"
    )
    evaluate_cmd.add_argument(
        "--cutoff",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="where to cut the data (default: 90 days, or the churn horizon if longer, "
        "before the as-of date)",
    )
    deliver_cmd = commands.add_parser(
        "deliver",
        help="move the next held-back day of a generated data set into the landing directory",
    )
    deliver_cmd.add_argument("--days", type=int, default=1, help="how many days (default 1)")
    commands.add_parser("rollback", help="put the previous published version back (twice = undo)")
    commands.add_parser("ui", help="the Dagster UI on the same instance as `run`")
    commands.add_parser("env", help='the environment dbt needs to run by hand: eval "$(... env)"')
    metrics_cmd = commands.add_parser(
        "metrics",
        help="the governed metrics, through MetricFlow's `mf` on the warehouse (read-only): "
        "metrics query --metrics revenue,aov --group-by metric_time__month",
    )
    metrics_cmd.add_argument("mf_args", nargs=argparse.REMAINDER, help="mf's command and options")
    args = parser.parse_args(argv)

    settings = load_settings()
    if args.command == "env":
        env = settings.dbt_env()
        # dbt_project.yml's as_of_date var defaults to AS_OF_DATE (the pipeline passes --vars).
        if settings.landing_problem() is None or settings.as_of_date_override:
            env["AS_OF_DATE"] = settings.as_of_date_for_new_run().isoformat()
        print("\n".join(f"export {name}={shlex.quote(value)}" for name, value in env.items()))
        return 0
    if args.command == "ui":
        prepare_dagster_home(settings)
        os.environ.update(settings.dbt_env())
        # `dagster dev` re-parses the dbt project with the `dbt` found on PATH.
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        dagster = Path(sys.executable).with_name("dagster")
        os.execv(dagster, [str(dagster), "dev", "-m", "orchestration.definitions"])
    if args.command == "rollback":
        return roll_back(settings)
    if args.command == "deliver":
        return deliver(settings, args.days)
    if args.command == "evaluate":
        return evaluate(settings, args.cutoff)
    if args.command == "metrics":
        return query_metrics(settings, args.mf_args)
    try:
        plan = plan_landing(settings, demo=args.command == "run" and args.demo)
        if args.command == "reload" and plan != "load":
            raise LandingRefused(f"reload refused: {settings.landing_problem()}")
    except LandingRefused as exc:
        print(exc, file=sys.stderr)
        prepare_dagster_home(settings)
        alert(settings, "nightly", "(not started)", str(exc))
        return 2
    if args.command == "run":
        if plan == "generate":
            try:
                generate_demo(settings)
            except FileExistsError as exc:  # files of an earlier data set: never replaced
                print(f"run refused, nothing was written: {exc}", file=sys.stderr)
                return 2
        else:
            print(f"loading the files already in {settings.landing_dir}")
        from orchestration.defs.partitions import DELIVERY_DAYS, last_delivery_day

        try:
            scope = nightly_scope(settings, last_delivery_day(DELIVERY_DAYS))
            scope = replace(scope, full_refresh=args.full_refresh)
        except LandingRefused as exc:
            print(exc, file=sys.stderr)
            return 2
        return execute("nightly", scope)
    from orchestration.defs.ingestion.assets import reload_run_config

    last = args.last or args.first
    if last < args.first:
        print(f"reload refused: TO ({last}) is before FROM ({args.first})", file=sys.stderr)
        return 2
    scope = RunScope(settings.as_of_date_for_new_run(), args.first, last)
    return execute("nightly", scope, reload_run_config())


if __name__ == "__main__":
    sys.exit(main())
