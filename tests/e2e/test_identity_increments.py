"""Nightly increments give what a full rebuild gives.

The shared clean run is itself delivered as two nights (tests/e2e/pipeline_cli.py
`run_two_nights`): the first 40 days, a run, then the rest, a run - with one source's
folder of an early day held back from the first night and delivered with the second (a
day delivered late), and the planted scenarios (a customer asking to be forgotten, a
file delivered again, and late and corrected orders) in the last day. The second night
merges customers the first night kept apart and corrects records of the first. The crash
chain's final run, a build from scratch over the same files, is the reference: every
published table must be identical, by content checksum, and every identifier must have
the same customer_id. An identifier keeps its id across the nights unless the second run
logged that id as merged into another.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.pipeline_cli import RESENT_SUFFIX, identifier_ids, table_checksums

pytestmark = pytest.mark.e2e


def test_the_nights_hold_what_the_proof_needs(clean_run):
    nights = clean_run.nights
    assert f"delivery days {nights.late_day} to " in nights.second_stdout
    assert any(kind == "merge" for kind, *_ in nights.merges)
    resent = [f for f, s in nights.statuses.items() if RESENT_SUFFIX in f]
    assert resent and all(nights.statuses[f] == "duplicate" for f in resent)
    forgotten = ("crm", clean_run.forgotten_customer_ref)
    assert forgotten in nights.first_night_ids
    assert forgotten not in identifier_ids(clean_run.root)


def test_ids_survive_the_second_increment_unless_a_merge_is_logged(clean_run):
    before, after = clean_run.nights.first_night_ids, identifier_ids(clean_run.root)
    assert before and len(after) > len(before)
    logged = {(old, new) for kind, old, new in clean_run.nights.merges if kind == "merge"}
    changed = {
        (before[key], after[key]) for key in before if key in after and before[key] != after[key]
    }
    assert changed <= logged, f"ids changed without a logged merge: {sorted(changed - logged)[:5]}"
    kept = sum(before[key] == after.get(key) for key in before)
    assert kept / len(before) > 0.95


def test_the_second_night_published_the_marts_kept_by_key_by_key(clean_run):
    """The proof below covers the copy-and-update publish: the second night updated the
    marts dbt keeps by key in a copy of the first night's file."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    from orchestration.defs.transform.assets import marts_replaced_by_key

    run_id = re.search(r"^run (\S+) \(nightly\): ", clean_run.nights.second_stdout, re.M)[1]
    # the instance of that root, not through DAGSTER_HOME: the crash chain's thread reads
    # this process's environment meanwhile. Its storage is read with Dagster's own SQLite
    # storage class (the same files), whose directory is given here, not by DAGSTER_HOME.
    home = str(clean_run.root / "dagster")
    ref = InstanceRef.from_dir(home, overrides={"storage": {"sqlite": {"base_dir": home}}})
    with dg.DagsterInstance.from_ref(ref) as instance:
        events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        (published,) = [
            e.asset_materialization
            for e in events
            if e.asset_materialization.asset_key == dg.AssetKey(["publish", "marts_duckdb"])
        ]
    assert published.metadata["tables_by_key"].value == sorted(marts_replaced_by_key())
    assert sorted(marts_replaced_by_key()) == ["fct_customer_journeys", "fct_touchpoints"]


def test_full_rebuild_gives_the_same_ids(clean_run, crash_chain):
    assert identifier_ids(crash_chain.root) == identifier_ids(clean_run.root)


def test_published_marts_equal_a_full_rebuild(clean_run, crash_chain):
    nightly = clean_run.checksums
    rebuilt = table_checksums(crash_chain.root / "publish" / "marts.duckdb")
    assert len(nightly) > 20
    differ = sorted(t for t in set(nightly) | set(rebuilt) if nightly.get(t) != rebuilt.get(t))
    assert not differ, f"published tables that differ from the full rebuild: {differ}"
