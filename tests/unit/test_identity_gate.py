"""The identity over-merge gate blocks what is downstream of it in a real Dagster run: each
of its three checks, made to fail alone on a hand-made identity state, keeps the asset
after `dq/identity_resolution_runs` (the publish step, see test_definitions) from
materialising; a healthy night lets it through."""

from __future__ import annotations

import uuid

import dagster as dg
import duckdb
import pytest

from orchestration.defs.quality.identity import (
    RUNS_KEY,
    identity_checks,
    identity_resolution_runs,
)
from orchestration.defs.resources import SettingsResource, WarehouseResource
from orchestration.lib.identity_stats import STATS_DDL
from orchestration.lib.settings import load_settings

CHECKS = ("largest_cluster_size", "singleton_share_stable", "merges_within_trailing_average")


@dg.asset(deps=[RUNS_KEY])
def published() -> None:
    """Stands for publish/marts_duckdb, which depends on the gate's asset."""


def night(tmp_path, customers: dict[str, int], merges: int, trailing_share: float):
    """Run the gate after a night whose identity tables hold `customers` (id -> number of
    identifiers) and `merges` merges, after three earlier runs with `trailing_share`
    singletons and no merges. Returns (check name -> passed, published materialised)."""
    db = tmp_path / "warehouse.duckdb"
    run_id = str(uuid.uuid4())
    with duckdb.connect(str(db)) as con:
        con.execute("create schema identity")
        con.execute("create table identity.customer_identifiers (customer_id varchar)")
        con.execute("create table identity.customer_merges (run_id varchar, change_type varchar)")
        for customer, n in customers.items():
            con.execute(
                "insert into identity.customer_identifiers select ? from range(?)", [customer, n]
            )
        con.execute(
            "insert into identity.customer_merges select ?, 'merge' from range(?)",
            [run_id, merges],
        )
        con.execute(STATS_DDL)
        con.execute(
            "insert into dq.identity_resolution_runs select 'earlier-' || i, "
            "date '2026-06-01' + i::int, timestamp '2026-06-01 02:00' + to_days(i::int), "
            "3, 2, ?, 0, 0 from range(3) as t(i)",
            [trailing_share],
        )
    defs = dg.Definitions(
        assets=[identity_resolution_runs, published],
        asset_checks=identity_checks,
        resources={
            "settings": SettingsResource.from_environment(),
            "warehouse": WarehouseResource.from_settings(load_settings(), db),
        },
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            run_id=run_id, raise_on_error=False, instance=instance
        )
        passed = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        built = {e.asset_key for e in result.get_asset_materialization_events()}
    return passed, dg.AssetKey("published") in built


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    monkeypatch.setenv("AS_OF_DATE", "2026-06-30")
    for name in ("MAX_CLUSTER_IDENTIFIERS", "MAX_SINGLETON_SHARE_DROP", "MERGES_FACTOR"):
        monkeypatch.delenv(f"IDENTITY_{name}", raising=False)
    monkeypatch.delenv("IDENTITY_MERGES_FLOOR", raising=False)


def test_every_gate_check_is_blocking():
    assert {spec.key.name for c in identity_checks for spec in c.check_specs if spec.blocking} == (
        set(CHECKS)
    )


def test_a_healthy_night_passes_the_gate(tmp_path):
    # 2 of 3 customers are singletons, as in the runs before; 3 merges, under the floor of 50.
    passed, published_built = night(tmp_path, {"A": 1, "B": 1, "C": 4}, 3, 2 / 3)
    assert passed == dict.fromkeys(CHECKS, True)
    assert published_built


@pytest.mark.parametrize(
    ("failing", "customers", "merges", "trailing_share"),
    [
        # one customer holds 60 identifiers, more than the limit of 50
        ("largest_cluster_size", {"A": 1, "B": 1, "C": 60}, 0, 2 / 3),
        # nobody is a singleton any more where 90 % were: a drop of 0.9 > 0.10
        ("singleton_share_stable", {"A": 2, "B": 2, "C": 2}, 0, 0.9),
        # 60 merges in one night, over max(floor 50, 5 × the trailing mean 0)
        ("merges_within_trailing_average", {"A": 1, "B": 1, "C": 4}, 60, 2 / 3),
    ],
)
def test_each_failing_gate_check_holds_back_what_follows(
    tmp_path, failing, customers, merges, trailing_share
):
    passed, published_built = night(tmp_path, customers, merges, trailing_share)
    assert passed == {name: name != failing for name in CHECKS}
    assert not published_built
