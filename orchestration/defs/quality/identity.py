"""Over-merge gate: identity-resolution figures per run, and blocking checks on them.

A wrong merge rule or a new placeholder value can glue thousands of people into
one customer overnight; these checks stop such a run before it is published.
"""

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from orchestration.lib.identity_stats import (
    largest_cluster_ok,
    merges_ok,
    record_run,
    run_figures,
    singleton_share_ok,
)

RUNS_KEY = dg.AssetKey(["dq", "identity_resolution_runs"])


@dg.asset(
    key=RUNS_KEY,
    group_name="dq",
    deps=[
        dg.AssetKey(["identity", "customer_identifiers"]),
        dg.AssetKey(["identity", "customer_merges"]),
    ],
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="One row per pipeline run: customers, largest cluster, share of singleton "
    "customers, merges and splits logged by identity resolution in that run.",
)
def identity_resolution_runs(
    context: dg.AssetExecutionContext, settings: SettingsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    as_of = settings.scope(context).as_of_date
    with warehouse.connect() as con:
        figures = record_run(con, context.run.run_id, as_of)
    return dg.MaterializeResult(metadata={k: v for k, v in figures.items() if v is not None})


def _check(name: str, rule, description: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=RUNS_KEY, name=name, blocking=True, description=description)
    def _identity_check(
        context: dg.AssetCheckExecutionContext,
        settings: SettingsResource,
        warehouse: WarehouseResource,
    ) -> dg.AssetCheckResult:
        limits = settings.settings.identity
        with warehouse.connect() as con:
            figures = run_figures(con, context.run.run_id)
        return dg.AssetCheckResult(
            passed=bool(rule(figures, limits)),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                **{k: v for k, v in figures.items() if v is not None},
                "limits": dg.MetadataValue.json(limits.__dict__),
            },
        )

    return _identity_check


identity_checks = [
    _check(
        "largest_cluster_size",
        largest_cluster_ok,
        "The largest customer holds at most IDENTITY_MAX_CLUSTER_IDENTIFIERS identifiers.",
    ),
    _check(
        "singleton_share_stable",
        singleton_share_ok,
        "The share of single-identifier customers has not dropped by more than "
        "IDENTITY_MAX_SINGLETON_SHARE_DROP against the trailing 7 runs.",
    ),
    _check(
        "merges_within_trailing_average",
        merges_ok,
        "Merges logged in this run stay under max(IDENTITY_MERGES_FLOOR, "
        "IDENTITY_MERGES_FACTOR × the trailing 7 runs' mean).",
    ),
]
