import os
from datetime import date

import duckdb
import pytest

from orchestration.lib.identity_stats import (
    OverMergeLimits,
    largest_cluster_ok,
    merges_ok,
    record_run,
    singleton_share_ok,
)


def warehouse(customers: dict[str, int], merges: dict[str, int]) -> duckdb.DuckDBPyConnection:
    """customers: customer_id -> number of identifiers; merges: run_id -> merges logged."""
    con = duckdb.connect()
    con.execute("create schema identity")
    con.execute("create table identity.customer_identifiers (customer_id varchar)")
    con.execute("create table identity.customer_merges (run_id varchar, change_type varchar)")
    set_state(con, customers, merges)
    return con


def set_state(con, customers: dict[str, int], merges: dict[str, int]) -> None:
    con.execute("delete from identity.customer_identifiers")
    for customer, n in customers.items():
        con.execute(
            "insert into identity.customer_identifiers select ? from range(?)", [customer, n]
        )
    con.execute("delete from identity.customer_merges")
    for run, n in merges.items():
        con.execute(
            "insert into identity.customer_merges select ?, 'merge' from range(?)", [run, n]
        )


def test_figures_of_one_run():
    # 4 customers with 1, 1, 3 and 5 identifiers: singletons 2/4, largest 5.
    con = warehouse({"A": 1, "B": 1, "C": 3, "D": 5}, {"r1": 2, "r0": 7})
    figures = record_run(con, "r1", date(2026, 6, 30))
    assert figures["customers"] == 4
    assert figures["largest_cluster_identifiers"] == 5
    assert figures["singleton_share"] == pytest.approx(0.5)
    assert (figures["merges"], figures["splits"]) == (2, 0)
    assert figures["trailing_runs"] == 0
    assert largest_cluster_ok(figures, OverMergeLimits(max_cluster_identifiers=5))
    assert not largest_cluster_ok(figures, OverMergeLimits(max_cluster_identifiers=4))
    # With no history, only the floor bounds merges.
    assert merges_ok(figures, OverMergeLimits(merges_floor=2))
    assert not merges_ok(figures, OverMergeLimits(merges_floor=1))
    assert singleton_share_ok(figures, OverMergeLimits())


def test_run_is_judged_against_the_runs_before_it():
    con = warehouse({"A": 1, "B": 1, "C": 2, "D": 2}, {"r1": 4})
    record_run(con, "r1", date(2026, 6, 1))  # singleton share 0.5, 4 merges
    set_state(con, {"A": 1, "B": 1, "C": 1, "D": 3}, {"r2": 6})
    record_run(con, "r2", date(2026, 6, 2))  # singleton share 0.75, 6 merges
    # Run 3: everyone glued together: share 0, 40 merges.
    set_state(con, {"X": 6}, {"r3": 40})
    figures = record_run(con, "r3", date(2026, 6, 3))
    assert figures["trailing_runs"] == 2
    assert figures["trailing_singleton_share"] == pytest.approx(0.625)
    assert figures["trailing_merges"] == pytest.approx(5.0)
    limits = OverMergeLimits(merges_floor=10, merges_factor=5.0, max_singleton_share_drop=0.1)
    assert not singleton_share_ok(figures, limits)  # dropped 0.625
    assert not merges_ok(figures, limits)  # 40 > max(10, 5 × 5)
    assert merges_ok(figures, OverMergeLimits(merges_floor=10, merges_factor=8.0))  # 40 ≤ 40


def test_recording_a_run_twice_keeps_one_row():
    con = warehouse({"A": 1}, {})
    record_run(con, "r1", date(2026, 6, 1))
    record_run(con, "r1", date(2026, 6, 1))
    assert con.execute("select count(*) from dq.identity_resolution_runs").fetchone() == (1,)


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("IDENTITY_MAX_CLUSTER_IDENTIFIERS", "80")
    monkeypatch.setenv("IDENTITY_MERGES_FACTOR", "2.5")
    limits = OverMergeLimits.from_environ(os.environ)
    assert (limits.max_cluster_identifiers, limits.merges_factor) == (80, 2.5)
    monkeypatch.setenv("IDENTITY_MERGES_FLOOR", "many")
    with pytest.raises(ValueError, match="IDENTITY_MERGES_FLOOR='many' is not a number"):
        OverMergeLimits.from_environ(os.environ)
