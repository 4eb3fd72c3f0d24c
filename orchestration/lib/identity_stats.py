"""Identity-resolution health per run, and the over-merge rules the publish gate applies.

One row per pipeline run in `dq.identity_resolution_runs`; each run is judged
against the trailing average of the runs before it, because what is normal
(how many customers are singletons, how many merge in a night) depends on the
business and only history says it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date

import duckdb

TRAILING_RUNS = 7

STATS_DDL = """
create schema if not exists dq;
create table if not exists dq.identity_resolution_runs (
    run_id varchar primary key,
    as_of_date date,
    recorded_at timestamp,
    customers bigint,
    largest_cluster_identifiers bigint,
    singleton_share double,
    merges bigint,
    splits bigint
)
"""


@dataclass(frozen=True)
class OverMergeLimits:
    """Thresholds of the blocking checks (see orchestration/defs/quality)."""

    max_cluster_identifiers: int = 50
    max_singleton_share_drop: float = 0.10
    merges_factor: float = 5.0
    merges_floor: int = 50

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> OverMergeLimits:
        """Each limit can be set as IDENTITY_<NAME> (e.g. IDENTITY_MAX_CLUSTER_IDENTIFIERS)."""
        values = {}
        for f in fields(cls):
            raw = environ.get(f"IDENTITY_{f.name.upper()}")
            if raw is not None:
                try:
                    values[f.name] = type(f.default)(raw)
                except ValueError as exc:
                    raise ValueError(f"IDENTITY_{f.name.upper()}={raw!r} is not a number") from exc
        return cls(**values)


def record_run(con: duckdb.DuckDBPyConnection, run_id: str, as_of_date: date) -> dict:
    """Compute this run's figures from the identity tables and upsert them."""
    con.execute(STATS_DDL)
    con.execute(
        """
        insert or replace into dq.identity_resolution_runs
        with sizes as (
            select customer_id, count(*) as identifiers
            from identity.customer_identifiers
            group by customer_id
        ),
        changes as (
            select
                count(*) filter (where change_type = 'merge') as merges,
                count(*) filter (where change_type = 'split') as splits
            from identity.customer_merges
            where run_id = $run_id
        )
        select
            $run_id,
            $as_of_date,
            current_timestamp::timestamp,
            (select count(*) from sizes),
            (select coalesce(max(identifiers), 0) from sizes),
            (select coalesce(avg((identifiers = 1)::int), 0) from sizes),
            changes.merges,
            changes.splits
        from changes
        """,
        {"run_id": run_id, "as_of_date": as_of_date},
    )
    return run_figures(con, run_id)


def run_figures(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    """This run's figures plus the trailing averages of the runs recorded before it."""
    row = con.execute(
        f"""
        with this_run as (
            select * from dq.identity_resolution_runs where run_id = $run_id
        ),
        earlier as (
            select *
            from dq.identity_resolution_runs
            where recorded_at < (select recorded_at from this_run)
            order by recorded_at desc
            limit {TRAILING_RUNS}
        )
        select
            this_run.customers,
            this_run.largest_cluster_identifiers,
            this_run.singleton_share,
            this_run.merges,
            this_run.splits,
            (select count(*) from earlier),
            (select avg(singleton_share) from earlier),
            (select avg(merges) from earlier)
        from this_run
        """,
        {"run_id": run_id},
    ).fetchone()
    keys = (
        "customers",
        "largest_cluster_identifiers",
        "singleton_share",
        "merges",
        "splits",
        "trailing_runs",
        "trailing_singleton_share",
        "trailing_merges",
    )
    return dict(zip(keys, row, strict=True))


def largest_cluster_ok(figures: dict, limits: OverMergeLimits) -> bool:
    return figures["largest_cluster_identifiers"] <= limits.max_cluster_identifiers


def singleton_share_ok(figures: dict, limits: OverMergeLimits) -> bool:
    """A sudden drop of singletons means many customers merged at once."""
    if not figures["trailing_runs"]:
        return True
    drop = figures["trailing_singleton_share"] - figures["singleton_share"]
    return drop <= limits.max_singleton_share_drop


def merges_ok(figures: dict, limits: OverMergeLimits) -> bool:
    """Merges in this run may not exceed the floor or `merges_factor` × the trailing mean."""
    allowed = limits.merges_floor
    if figures["trailing_runs"]:
        allowed = max(allowed, limits.merges_factor * figures["trailing_merges"])
    return figures["merges"] <= allowed
