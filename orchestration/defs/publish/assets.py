"""The BI-facing file: published only once everything upstream has materialised."""

from pathlib import Path

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.defs.transform.assets import mart_keys
from orchestration.lib.publish import publish_marts
from orchestration.lib.settings import load_settings

MARTS = mart_keys()


@dg.asset(
    key=["publish", "marts_duckdb"],
    group_name="publish",
    deps=MARTS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="Read-only DuckDB file for BI tools at $PUBLISH_DIR/marts.duckdb, swapped in "
    "atomically; the previous version is kept as marts.previous.duckdb.",
)
def published_marts(warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = load_settings()
    result = publish_marts(
        Path(warehouse.path), settings.publish_dir, [key.path[-1] for key in MARTS]
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "tables": dg.MetadataValue.json(result.tables),
            "previous_version": str(result.previous) if result.previous else "none",
        }
    )
