"""Nightly increments give what a full rebuild gives.

The shared clean run's landing set (with its planted scenarios: a customer asking to be
forgotten and a file delivered again, both in the last day) is delivered again as two
nights: the first 40 days, a run, then the rest, a run - with one source's folder of
an early day held back from the first night and delivered with the second (a day
delivered late). The second night merges customers the first night kept apart and
corrects records of the first. The clean run, a full build from scratch over the same
files, is the reference: every published table must be identical, by content checksum,
and every identifier must have the same customer_id. An identifier keeps its id across
the nights unless the second run logged that id as merged into another.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.e2e.pipeline_cli import RESENT_SUFFIX, pipeline_env, run_cli, table_checksums

pytestmark = pytest.mark.e2e
LATE_SOURCE = "web_sessions"


def deliver(all_landing, landing, folders) -> None:
    for folder in folders:
        shutil.copytree(folder, landing / folder.relative_to(all_landing))


def identifier_ids(root) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select identifier_type, identifier_value, customer_id "
            "from identity.customer_identifiers"
        ).fetchall()
    return {(t, v): c for t, v, c in rows}


@pytest.fixture(scope="module")
def increments(clean_run, tmp_path_factory):
    all_landing = clean_run.root / "landing"
    days = sorted({p.name for p in all_landing.glob("*/*")})
    late = all_landing / LATE_SOURCE / days[10]
    first = [p for p in all_landing.glob("*/*") if p.name in days[:40] and p != late]
    rest = [p for p in all_landing.glob("*/*") if p.name in days[40:]] + [late]

    nightly = tmp_path_factory.mktemp("nightly")
    env = pipeline_env(nightly)
    (nightly / "landing").mkdir()
    # The same masking key as the clean run, so that published ids compare equal.
    (nightly / "warehouse").mkdir()
    shutil.copy2(clean_run.root / "warehouse" / ".publish_hash_key", nightly / "warehouse")
    deliver(all_landing, nightly / "landing", first)
    run_cli(env, "run")
    before = identifier_ids(nightly)
    deliver(all_landing, nightly / "landing", rest)
    second = run_cli(env, "run")
    with duckdb.connect(str(nightly / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        merges = con.execute(
            "select change_type, old_customer_id, new_customer_id from identity.customer_merges"
        ).fetchall()
        statuses = dict(con.execute("select file, status from raw._files").fetchall())
    return {
        "before": before,
        "after": identifier_ids(nightly),
        "merges": merges,
        "statuses": statuses,
        "second_stdout": second.stdout,
        "nightly": table_checksums(nightly / "publish" / "marts.duckdb"),
        "late_day": days[10],
    }


def test_the_nights_hold_what_the_proof_needs(increments, clean_run):
    assert f"delivery days {increments['late_day']} to " in increments["second_stdout"]
    assert any(kind == "merge" for kind, *_ in increments["merges"])
    resent = [f for f, s in increments["statuses"].items() if RESENT_SUFFIX in f]
    assert resent and all(increments["statuses"][f] == "duplicate" for f in resent)
    forgotten = ("crm", clean_run.forgotten_customer_ref)
    assert forgotten in increments["before"] and forgotten not in increments["after"]


def test_ids_survive_the_second_increment_unless_a_merge_is_logged(increments):
    before, after = increments["before"], increments["after"]
    assert before and len(after) > len(before)
    logged = {(old, new) for kind, old, new in increments["merges"] if kind == "merge"}
    changed = {
        (before[key], after[key]) for key in before if key in after and before[key] != after[key]
    }
    assert changed <= logged, f"ids changed without a logged merge: {sorted(changed - logged)[:5]}"
    kept = sum(before[key] == after.get(key) for key in before)
    assert kept / len(before) > 0.95


def test_full_rebuild_gives_the_same_ids(increments, clean_run):
    assert identifier_ids(clean_run.root) == increments["after"]


def test_published_marts_equal_a_full_rebuild(increments, clean_run):
    nightly, rebuilt = increments["nightly"], clean_run.checksums
    assert len(nightly) > 20
    differ = sorted(t for t in set(nightly) | set(rebuilt) if nightly.get(t) != rebuilt.get(t))
    assert not differ, f"published tables that differ from the full rebuild: {differ}"
