"""Running one asset check as a step of a real Dagster run (it reads the run's tags)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.defs.resources import SettingsResource, WarehouseResource
from orchestration.lib.settings import load_settings


def evaluate_check(
    key: dg.AssetCheckKey,
    checks: list[dg.AssetChecksDefinition],
    warehouse: Path,
    tags: dict | None = None,
) -> dg.AssetCheckEvaluation:
    """The evaluation of the check `key` alone, from the definition of `checks` holding it
    (a check of many assets runs only the selected one)."""
    check = next(c for c in checks if key in c.check_keys)
    defs = dg.Definitions(
        assets=[dg.AssetSpec(k) for k in sorted({k.asset_key for k in check.check_keys}, key=str)],
        asset_checks=[check],
        jobs=[dg.define_asset_job("check", selection=dg.AssetSelection.checks(key))],
        resources={
            "settings": SettingsResource.from_environment(),
            "warehouse": WarehouseResource.from_settings(load_settings(), warehouse),
        },
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("check").execute_in_process(
            instance=instance, raise_on_error=False, tags=tags
        )
        (evaluation,) = result.get_asset_check_evaluations()
    return evaluation
