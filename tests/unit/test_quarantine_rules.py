"""Whether a quarantined file holds back the transform and the publish is a rule per source:
`tonight` (the default: a file of the as-of date's delivery), `any` delivery, or `never`.
The blocking check `delivery_complete` says which rule decided."""

from __future__ import annotations

import gzip

import dagster as dg
import pytest

from orchestration.defs.ingestion.assets import delivery_complete, ingestion_checks
from orchestration.lib.contract import SOURCES_BY_NAME
from orchestration.lib.ingest import ingest_source
from orchestration.lib.run_scope import AS_OF_TAG
from tests.check_runs import evaluate_check
from tests.ingest_fixtures import valid_csv, write

TONIGHT, EARLIER = "2024-01-02", "2024-01-01"


@pytest.fixture
def warehouse(tmp_path, con, monkeypatch):
    """web_sessions: a truncated file in an earlier delivery; web_orders: one tonight."""
    landing = tmp_path / "landing"
    for source, bad_day in (("web_sessions", EARLIER), ("web_orders", TONIGHT)):
        text = valid_csv(SOURCES_BY_NAME[source], range(3)).encode()
        write(landing, f"{source}/{EARLIER}/good.csv", text)
        write(landing, f"{source}/{TONIGHT}/good2.csv", text.replace(b"-0", b"-9"))
        write(landing, f"{source}/{bad_day}/cut.csv.gz", gzip.compress(text)[:-8])
        ingest_source(con, SOURCES_BY_NAME[source], landing, batch_id="b1")
    con.close()
    for var in ("QUARANTINE_BLOCKS", "QUARANTINE_BLOCKS_BY_SOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANDING_DIR", str(landing))
    monkeypatch.setenv("AS_OF_DATE", TONIGHT)
    return tmp_path / "w.duckdb"


def evaluate(warehouse, source: str, tags: dict | None = None) -> dg.AssetCheckEvaluation:
    """The check run as a step of a real run (it reads the as-of date from the run)."""
    key = dg.AssetCheckKey(dg.AssetKey(["raw", source]), "delivery_complete")
    assert all(spec.blocking for spec in delivery_complete.check_specs)
    return evaluate_check(key, ingestion_checks, warehouse, tags)


def test_by_default_only_tonights_delivery_blocks(warehouse):
    orders = evaluate(warehouse, "web_orders")
    assert not orders.passed and orders.severity == dg.AssetCheckSeverity.ERROR
    assert orders.description.startswith(
        "rule tonight: a quarantined file of the as-of date's delivery blocks; "
        f"web_orders/{TONIGHT}/cut.csv.gz quarantined: truncated gzip archive"
    )
    sessions = evaluate(warehouse, "web_sessions")
    assert sessions.passed
    assert sessions.description == (
        "rule tonight: a quarantined file of the as-of date's delivery blocks"
    )


def test_any_delivery_blocks_when_the_rule_says_so(warehouse, monkeypatch):
    monkeypatch.setenv("QUARANTINE_BLOCKS", "any")
    sessions = evaluate(warehouse, "web_sessions")
    assert not sessions.passed
    assert sessions.description.startswith(
        "rule any: a quarantined file of any delivery blocks; "
        f"web_sessions/{EARLIER}/cut.csv.gz quarantined"
    )
    assert sessions.metadata["count"].value == 1


def test_a_source_can_be_set_to_never_block(warehouse, monkeypatch):
    monkeypatch.setenv("QUARANTINE_BLOCKS", "any")
    monkeypatch.setenv("QUARANTINE_BLOCKS_BY_SOURCE", "web_orders=never")
    orders = evaluate(warehouse, "web_orders")
    assert orders.passed
    assert orders.description == "rule never: quarantined files only warn"
    assert not evaluate(warehouse, "web_sessions").passed


def test_the_check_judges_the_runs_as_of_date_not_the_landing_directorys(warehouse, monkeypatch):
    """The landing directory's latest day is TONIGHT, but the run was created as of EARLIER
    (its tag): the step reads the date from its run, never from the files."""
    monkeypatch.delenv("AS_OF_DATE")
    earlier = {AS_OF_TAG: EARLIER}
    assert not evaluate(warehouse, "web_sessions", earlier).passed  # EARLIER's file is cut
    assert evaluate(warehouse, "web_orders", earlier).passed  # TONIGHT's is not the run's
    assert evaluate(warehouse, "web_orders", earlier).metadata["as_of_date"].value == EARLIER
