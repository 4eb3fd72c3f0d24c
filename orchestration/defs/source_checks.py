"""A check of every raw source in one step: a step per source and check was 60 steps
of a tenth of a second each, every run."""

from collections.abc import Callable
from typing import Any

import dagster as dg
import duckdb

from orchestration.defs.resources import SettingsResource, WarehouseResource
from orchestration.lib.contract import SOURCES

# (connection, source name, settings, the step's context) -> AssetCheckResult arguments
# other than the key: passed, severity, description, metadata
Evaluate = Callable[
    [duckdb.DuckDBPyConnection, str, SettingsResource, dg.AssetCheckExecutionContext],
    dict[str, Any],
]


def source_check(
    name: str, description: str, evaluate: Evaluate, *, blocking: bool = False
) -> dg.AssetChecksDefinition:
    """The check `name` on each `raw/<source>` asset; a step runs the selected ones."""
    keys = {dg.AssetKey(["raw", s.name]): s.name for s in SOURCES}

    @dg.multi_asset_check(
        name=name,
        specs=[
            dg.AssetCheckSpec(name, asset=key, blocking=blocking, description=description)
            for key in keys
        ],
        can_subset=True,
    )
    def _source_checks(
        context: dg.AssetCheckExecutionContext,
        settings: SettingsResource,
        warehouse: WarehouseResource,
    ):
        selected = {k.asset_key for k in context.selected_asset_check_keys}
        with warehouse.connect() as con:
            for key, source in keys.items():
                if key in selected:
                    yield dg.AssetCheckResult(
                        asset_key=key,
                        check_name=name,
                        **evaluate(con, source, settings, context),
                    )

    return _source_checks
