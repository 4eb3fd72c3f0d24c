"""dbt command lines, built by a pure function so they can be tested without dbt."""

from __future__ import annotations

import json

from orchestration.lib.settings import Settings


def dbt_vars(settings: Settings) -> dict[str, str]:
    return {
        "as_of_date": settings.as_of_date().isoformat(),
        "reporting_tz": settings.reporting_tz,
    }


def build_dbt_args(settings: Settings, command: str = "build") -> list[str]:
    """`dbt build` with the run's as-of date and time zone passed as vars."""
    return [command, "--vars", json.dumps(dbt_vars(settings), sort_keys=True)]
