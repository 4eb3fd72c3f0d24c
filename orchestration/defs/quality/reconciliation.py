"""Cross-layer reconciliation as Dagster asset checks (orchestration/lib/reconciliation.py).

Per raw source: its landing lines reconcile with raw rows and rejects (ERROR,
blocking: a lost or doubled row stops the run before dbt), its delivery volume
(WARN) and freshness (WARN). On the marts: revenue equals raw's (ERROR) and every
touchpoint without a customer has a reason (ERROR: every legitimate cause is
known, so an unexplained one is an identity-resolution bug that would mis-attribute
journeys in the published file).
"""

from collections.abc import Callable
from datetime import date

import dagster as dg
import duckdb

from orchestration.defs.resources import SettingsResource, WarehouseResource
from orchestration.defs.source_checks import source_check
from orchestration.lib.reconciliation import (
    CheckOutcome,
    ReconciliationLimits,
    freshness,
    landing_lines_reconciled,
    revenue_reconciled,
    source_max_age_days,
    touchpoints_explained,
    volume_anomalies,
)
from orchestration.project import load_manifest

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
MAX_AGE_DAYS = source_max_age_days(load_manifest())

# (connection, limits, the run's as-of date: read from the run only by checks that need it)
Run = Callable[[duckdb.DuckDBPyConnection, ReconciliationLimits, Callable[[], date]], CheckOutcome]
# The same, for one raw source (its name after the connection)
SourceRun = Callable[
    [duckdb.DuckDBPyConnection, str, ReconciliationLimits, Callable[[], date]], CheckOutcome
]


def _result_fields(outcome: CheckOutcome, severity: dg.AssetCheckSeverity) -> dict:
    return {
        "passed": outcome.passed,
        "severity": severity,
        "description": outcome.message,
        "metadata": {
            "observed": outcome.observed,
            "failing": dg.MetadataValue.json(outcome.details),
            "figures": dg.MetadataValue.json(outcome.figures),
        },
    }


def _check(
    key: dg.AssetKey, name: str, severity: dg.AssetCheckSeverity, run: Run, description: str
) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=key, name=name, blocking=severity == ERROR, description=description)
    def _reconciliation_check(
        context: dg.AssetCheckExecutionContext,
        settings: SettingsResource,
        warehouse: WarehouseResource,
    ) -> dg.AssetCheckResult:
        def as_of() -> date:
            return settings.scope(context).as_of_date

        with warehouse.connect() as con:
            outcome = run(con, settings.settings.reconciliation, as_of)
            return dg.AssetCheckResult(**_result_fields(outcome, severity))

    return _reconciliation_check


def _per_source_check(
    name: str, severity: dg.AssetCheckSeverity, run: SourceRun, description: str
) -> dg.AssetChecksDefinition:
    def evaluate(con, source: str, settings: SettingsResource, context) -> dict:
        def as_of() -> date:
            return settings.scope(context).as_of_date

        outcome = run(con, source, settings.settings.reconciliation, as_of)
        return _result_fields(outcome, severity)

    return source_check(name, description, evaluate, blocking=severity == ERROR)


reconciliation_checks = [
    _per_source_check(
        "lines_reconciled_with_raw",
        ERROR,
        lambda con, source, *_: landing_lines_reconciled(con, source),
        "Every file: data lines = rows in raw + rows in raw._rejects + blank + "
        "continuation lines, and a duplicate or quarantined file loaded nothing.",
    ),
    _per_source_check(
        "volume_within_baseline",
        WARN,
        lambda con, source, limits, as_of: volume_anomalies(con, as_of(), limits, source),
        "Rows delivered on the as-of day (RECON_VOLUME_CHECK_DAYS days) stay within "
        "RECON_VOLUME_LOW_RATIO..RECON_VOLUME_HIGH_RATIO of the trailing 7-day median.",
    ),
    _per_source_check(
        "fresh_delivery",
        WARN,
        lambda con, source, _, as_of: freshness(con, MAX_AGE_DAYS, as_of(), source),
        "The latest loaded delivery is at most the source's dbt freshness warn_after "
        "(models/staging/_raw__sources.yml) before the as-of date.",
    ),
    _check(
        dg.AssetKey(["marts", "fct_orders"]),
        "revenue_reconciled_with_raw",
        ERROR,
        lambda con, limits, _: revenue_reconciled(con, limits),
        "Revenue of raw's latest order versions (contract rule) = fct_orders revenue, per "
        "source, day and currency, within RECON_REVENUE_TOLERANCE; order counts equal.",
    ),
    _check(
        dg.AssetKey(["marts", "fct_touchpoints"]),
        "null_customers_explained",
        ERROR,
        lambda con, *_: touchpoints_explained(con),
        "Every touchpoint without a customer is forgotten, has no identifier, or only "
        "excluded identifiers (counts per reason in the metadata).",
    ),
]
