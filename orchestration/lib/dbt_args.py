"""dbt command lines, built by a pure function so they can be tested without dbt."""

from __future__ import annotations

import json

from orchestration.lib.run_scope import RunScope
from orchestration.lib.settings import Settings


def dbt_vars(
    settings: Settings, scope: RunScope, run_id: str | None = None
) -> dict[str, str | int]:
    """The run's as-of date and delivery window, the time zone, the churn horizon and refit
    period, the incremental models' lookback window, the e-mail provider rules, the k of
    the published marts' k-anonymity, and the Dagster run id that identity logs carry."""
    values = {
        **scope.dbt_vars(),
        "reporting_tz": settings.reporting_tz,
        "churn_horizon_days": settings.churn_horizon_days,
        "churn_refit_days": settings.churn_refit_days,
        "incremental_lookback_hours": settings.incremental_lookback_hours,
        "email_provider_rules": settings.email_provider_rules,
        "k_anonymity": settings.k_anonymity,
    }
    if run_id:
        values["run_id"] = run_id
    return values


def build_dbt_args(
    settings: Settings, scope: RunScope, run_id: str | None = None, command: str = "build"
) -> list[str]:
    """`dbt build` (or `dbt test`) on the engine's target with the run's settings passed as
    vars (and `--full-refresh` when a build asks for it). Unit tests check the models' code, not the
    night's data: they run in CI (tests/integration), not in every nightly run."""
    return [
        command,
        "--target",
        settings.engine,
        "--exclude-resource-type",
        "unit_test",
        *(["--full-refresh"] if scope.full_refresh and command == "build" else []),
        "--vars",
        json.dumps(dbt_vars(settings, scope, run_id), sort_keys=True),
    ]
