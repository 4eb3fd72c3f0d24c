"""dbt command lines, built by a pure function so they can be tested without dbt."""

from __future__ import annotations

import json

from orchestration.lib.settings import Settings


def dbt_vars(settings: Settings, run_id: str | None = None) -> dict[str, str | int]:
    """The run's as-of date, time zone and churn horizon, and the Dagster run id that
    identity logs carry."""
    values = {
        "as_of_date": settings.as_of_date().isoformat(),
        "reporting_tz": settings.reporting_tz,
        "churn_horizon_days": settings.churn_horizon_days,
    }
    if run_id:
        values["run_id"] = run_id
    return values


def build_dbt_args(settings: Settings, run_id: str | None = None) -> list[str]:
    """`dbt build` with the run's settings passed as vars. Unit tests check the models' code,
    not the night's data: they run in CI (tests/integration), not in every nightly run."""
    return [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        json.dumps(dbt_vars(settings, run_id), sort_keys=True),
    ]
