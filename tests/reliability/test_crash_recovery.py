"""Crash safety: SIGKILL the whole pipeline process group during ingestion, during dbt and
during publishing. After each kill the published file is the previous complete version and
the internal warehouse opens; the next run releases what the killed run held, completes and
publishes what a clean run does.

The kills are chained on one copy of the clean state (each run gets past the point where the
one before it was killed, so it also recovers from that crash). The state starts without its
warehouse file so that ingestion has every file to load again: the final run is also the
full rebuild of the idempotency requirement (same landing files, warehouse rebuilt from
scratch, identical published marts). The key for masked columns (kept beside the warehouse,
or PUBLISH_HASH_KEY in production) stays, so the result can equal the clean run's.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.e2e.pipeline_cli import copy_state, table_checksums
from tests.reliability.pipeline_process import PipelineProcess

pytestmark = pytest.mark.e2e

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


@pytest.fixture(scope="module")
def chain(clean_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("crash") / "root"
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
    return root, observed, code, recovery.output


POINTS = ["ingestion", "dbt", "publish"]


def after(chain, point: str) -> AfterKill:
    return next(o for o in chain[1] if o.point == point)


@pytest.mark.parametrize("point", POINTS)
def test_kill_leaves_the_previous_published_version_and_an_openable_warehouse(
    chain, clean_run, point
):
    seen = after(chain, point)
    assert seen.killed and seen.in_phase, f"the kill missed the {point} phase:\n{seen.output}"
    before, after_kill = seen.published_inode
    assert before == after_kill, "the live file was replaced by the killed run"
    assert seen.published_checksums == clean_run.checksums
    assert seen.warehouse_error is None


def test_next_run_after_the_kills_equals_a_clean_run(chain, clean_run):
    root, _, code, output = chain
    assert code == 0, f"recovery run failed or hung (exit {code}):\n{output[-5000:]}"
    assert "(nightly): succeeded" in output
    assert table_checksums(root / "publish" / "marts.duckdb") == clean_run.checksums
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        dupes = con.execute(
            "select count(*) from (select file from raw._files group by file having count(*) > 1)"
        ).fetchone()[0]
        files = con.execute("select count(*) from raw._files").fetchone()[0]
    landed = sum(1 for p in (root / "landing").rglob("*") if p.is_file())
    assert (dupes, files) == (0, landed), "a file half-loaded by a killed run is lost or twice"


def test_each_next_run_releases_the_killed_run(chain):
    """A killed in-process run stays STARTED holding its `warehouse` pool slot; the next
    `cli run` marks it failed and frees the slot, or it would wait for ever."""
    _, observed, _, recovery_output = chain
    following = [o.output for o in observed[1:]] + [recovery_output]
    for killed, output in zip(POINTS, following, strict=True):
        assert "of a killed `cli` process marked failed; its pool slot is free" in output, killed


def test_no_staging_file_is_left_behind_by_a_publish_killed_half_way(chain):
    """SIGKILL skips the publisher's `finally`; the next publish has to clear what it left."""
    root, _, code, _ = chain
    assert code == 0
    assert sorted(p.name for p in (root / "publish").glob(".*.tmp*")) == []
