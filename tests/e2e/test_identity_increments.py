"""Customer ids survive nightly increments and full rebuilds.

The shared clean run's landing set is delivered again in two parts: the first
days, a run, then the rest, a run. An identifier keeps its customer_id unless the
second run logged that id as merged into another; the clean run, a full build from
scratch over all the files, gave exactly the ids the incremental runs give.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.e2e.pipeline_cli import isolated_env, run_cli

pytestmark = pytest.mark.e2e


def deliver(all_landing, landing, days: set[str]) -> None:
    for day_dir in all_landing.glob("*/*"):
        if day_dir.name in days:
            shutil.copytree(day_dir, landing / day_dir.relative_to(all_landing))


def identifier_ids(root) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select identifier_type, identifier_value, customer_id "
            "from identity.customer_identifiers"
        ).fetchall()
    return {(t, v): c for t, v, c in rows}


@pytest.fixture(scope="module")
def increments(clean_run, tmp_path_factory):
    """The clean run's landing files delivered in two parts (the first 40 days, a run, then
    the rest, a run); the clean run itself is the full rebuild from scratch over them."""
    all_landing = clean_run.root / "landing"
    days = sorted({p.name for p in all_landing.glob("*/*")})
    first, rest = set(days[:40]), set(days[40:])

    nightly = tmp_path_factory.mktemp("nightly")
    env = isolated_env(nightly)
    (nightly / "landing").mkdir()
    deliver(all_landing, nightly / "landing", first)
    run_cli(env, "run")
    before = identifier_ids(nightly)
    deliver(all_landing, nightly / "landing", rest)
    run_cli(env, "run")
    after = identifier_ids(nightly)
    with duckdb.connect(str(nightly / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        merges = con.execute(
            "select change_type, old_customer_id, new_customer_id from identity.customer_merges"
        ).fetchall()
    return before, after, merges, identifier_ids(clean_run.root)


def test_ids_survive_the_second_increment_unless_a_merge_is_logged(increments):
    before, after, merges, _ = increments
    assert before and len(after) > len(before)
    logged = {(old, new) for kind, old, new in merges if kind == "merge"}
    changed = {
        (before[key], after[key]) for key in before if key in after and before[key] != after[key]
    }
    assert changed <= logged, f"ids changed without a logged merge: {sorted(changed - logged)[:5]}"
    kept = sum(before[key] == after.get(key) for key in before)
    assert kept / len(before) > 0.95


def test_full_rebuild_gives_the_same_ids(increments):
    _, after, _, rebuilt = increments
    assert rebuilt == after
