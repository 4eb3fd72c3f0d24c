"""The crash chain (tests/conftest.py `crash_chain`): SIGKILL the whole pipeline process
group during ingestion, during dbt and during publishing, on one copy of the clean state,
then one more run.

The kills are chained (each run gets past the point where the one before it was killed,
so it also recovers from that crash). The state starts without its warehouse file, so
ingestion has every file to load again: the final run ends a build from scratch, the
full rebuild that the clean run's two nights are compared with. The key for masked
columns (kept beside the warehouse, or PUBLISH_HASH_KEY in production) stays, so the
result can equal the clean run's.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tests.e2e.pipeline_cli import CleanRun, copy_state, table_checksums
from tests.reliability.pipeline_process import PipelineProcess

# Generous: the machine may be shared with other pipeline runs.
PHASE_TIMEOUT_S = 600
RUN_TIMEOUT_S = 900
STAGING_GLOB = ".marts.duckdb.*.tmp"


@dataclass
class AfterKill:
    point: str
    killed: bool  # the point was reached while the run was still going
    in_phase: bool  # and the run had not yet gone past that phase
    published_inode: tuple[int, int]  # of the live file before the run and after the kill
    published_checksums: dict[str, str]
    warehouse_error: str | None  # None: it opened read-write and answered a query
    output: str


def warehouse_error(path: Path, scratch: Path) -> str | None:
    """Open a copy of the warehouse (file and WAL) read-write, as the next run will, and query
    it; on the copy, so that the next run still meets the state the kill left."""
    scratch.mkdir()
    for part in path.parent.glob(path.name + "*"):
        shutil.copy2(part, scratch / part.name)
    try:
        with duckdb.connect(str(scratch / path.name)) as con:
            con.execute("select count(*) from information_schema.tables").fetchone()
    except duckdb.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(scratch)
    return None


@dataclass(frozen=True)
class Chain:
    root: Path
    observed: list[AfterKill]
    recovery_exit_code: int | None
    recovery_output: str


def run_chain(clean_run: CleanRun, root: Path) -> Chain:
    """Copy the clean state to `root` without its warehouse, kill a run at each point,
    then run to the end."""
    env = copy_state(clean_run.root, root)
    for stale in (root / "warehouse").glob("warehouse.duckdb*"):
        stale.unlink()
    publish = root / "publish"

    def staging_file_exists() -> bool:
        return any(publish.glob(STAGING_GLOB))

    points = (
        # one source is in (its asset logs a line), the others are not, dbt has not begun
        ("ingestion", lambda p: p.saw(" - raw__"), "dbt_warehouse"),
        # dbt is writing the models of the first dbt step
        ("dbt", lambda p: p.saw("OK created sql"), "dbt_customer_marts"),
        # the new BI file is being built beside the live one
        ("publish", lambda p: staging_file_exists(), "(nightly):"),
    )
    observed = []
    for point, reached, next_phase in points:
        inode = (publish / "marts.duckdb").stat().st_ino
        run = PipelineProcess(env)
        killed = run.kill_when(lambda run=run, reached=reached: reached(run), PHASE_TIMEOUT_S)
        observed.append(
            AfterKill(
                point=point,
                killed=killed,
                in_phase=not run.saw(next_phase),
                published_inode=(inode, (publish / "marts.duckdb").stat().st_ino),
                published_checksums=table_checksums(publish / "marts.duckdb"),
                warehouse_error=warehouse_error(
                    root / "warehouse" / "warehouse.duckdb", root.parent / f"open_{point}"
                ),
                output=run.output,
            )
        )
    recovery = PipelineProcess(env)
    code = recovery.finish(RUN_TIMEOUT_S)
    return Chain(root, observed, code, recovery.output)


POINTS = ["ingestion", "dbt", "publish"]


def after(chain: Chain, point: str) -> AfterKill:
    return next(o for o in chain.observed if o.point == point)
