"""Run parts of the nightly job, as the Dagster UI would launch them, against the
environment's warehouse, one run per SELECTION (a comma-separated list of assets and
checks), and print what each did as one line of JSON.

    python -m tests.e2e.run_selection AS_OF_DATE SELECTION...
    python -m tests.e2e.run_selection 2026-06-30 marts/fct_orders:dbt_tests marts/fct_orders
"""

from __future__ import annotations

import json
import sys
from datetime import date

import dagster as dg

from orchestration.definitions import defs
from orchestration.lib.run_scope import RunScope


def run(as_of: str, items: list[str]) -> None:
    assets = {dg.AssetKey.from_user_string(item) for item in items if ":" not in item}
    checks = {
        dg.AssetCheckKey(dg.AssetKey.from_user_string(asset), name)
        for asset, name in (item.split(":") for item in items if ":" in item)
    }
    job = defs.resolve_job_def("nightly").get_subset(
        asset_selection=assets, asset_check_selection=checks
    )
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags=RunScope(date.fromisoformat(as_of)).tags(),
        )
        print(
            json.dumps(
                {
                    "success": result.success,
                    "materialized": sorted(
                        e.asset_key.to_user_string()
                        for e in result.get_asset_materialization_events()
                    ),
                    "checks": {
                        f"{e.asset_key.to_user_string()}:{e.check_name}": {
                            "passed": e.passed,
                            "tests": e.metadata["tests"].value if "tests" in e.metadata else None,
                        }
                        for e in result.get_asset_check_evaluations()
                    },
                    "failures": [
                        e.step_failure_data.error.message for e in result.get_step_failure_events()
                    ],
                }
            )
        )


if __name__ == "__main__":
    for selection in sys.argv[2:]:
        run(sys.argv[1], selection.split(","))
