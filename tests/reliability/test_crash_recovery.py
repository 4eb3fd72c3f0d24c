"""Crash safety: SIGKILL the whole pipeline process group during ingestion, during dbt and
during publishing (tests/reliability/crash_chain.py). After each kill the published file
is the previous complete version and the internal warehouse opens; the next run releases
what the killed run held, completes and publishes what the clean run does.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.e2e.pipeline_cli import table_checksums
from tests.reliability.crash_chain import POINTS, after

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("point", POINTS)
def test_kill_leaves_the_previous_published_version_and_an_openable_warehouse(
    crash_chain, clean_run, point
):
    seen = after(crash_chain, point)
    assert seen.killed and seen.in_phase, f"the kill missed the {point} phase:\n{seen.output}"
    before, after_kill = seen.published_inode
    assert before == after_kill, "the live file was replaced by the killed run"
    assert seen.published_checksums == clean_run.checksums
    assert seen.warehouse_error is None


def test_next_run_after_the_kills_equals_the_clean_runs_nights(crash_chain, clean_run):
    """The build from scratch, in pieces across killed runs, publishes what the clean
    run's two nights published: crash recovery and nightly increments agree."""
    root, code, output = (
        crash_chain.root,
        crash_chain.recovery_exit_code,
        crash_chain.recovery_output,
    )
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


def test_each_next_run_releases_the_killed_run(crash_chain):
    """A killed in-process run stays STARTED holding its `warehouse` pool slot; the next
    `cli run` marks it failed and frees the slot, or it would wait for ever."""
    observed = crash_chain.observed
    following = [o.output for o in observed[1:]] + [crash_chain.recovery_output]
    for killed, output in zip(POINTS, following, strict=True):
        assert "of a killed `cli` process marked failed; its pool slot is free" in output, killed


def test_no_staging_file_is_left_behind_by_a_publish_killed_half_way(crash_chain):
    """SIGKILL skips the publisher's `finally`; the next publish has to clear what it left."""
    root = crash_chain.root
    assert crash_chain.recovery_exit_code == 0
    assert sorted(p.name for p in (root / "publish").glob(".*.tmp*")) == []
