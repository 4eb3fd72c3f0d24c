"""The BI-facing file: published only once everything upstream has materialised."""

from pathlib import Path

import dagster as dg

from orchestration.defs.quality.expectations import RESULTS_KEY
from orchestration.defs.quality.identity import RUNS_KEY
from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from orchestration.defs.transform.assets import marts_replaced_by_key, published_marts
from orchestration.lib.publish import hash_key, publish_marts

MARTS = published_marts()
MARTS_BY_KEY = marts_replaced_by_key()


@dg.asset(
    key=["publish", "marts_duckdb"],
    group_name="publish",
    # The blocking checks of the identity gate (over-merge) and of the data quality
    # suites (dq/check_results) hold publishing back.
    deps=[*(dg.AssetKey(["marts", table]) for table in MARTS), RUNS_KEY, RESULTS_KEY],
    kinds={"duckdb", "parquet"},
    pool=WAREHOUSE_POOL,
    description="Read-only DuckDB file for BI tools at $PUBLISH_DIR/marts.duckdb and one "
    "Parquet file per mart under $PUBLISH_DIR/parquet/, each swapped in atomically (the marts "
    "dbt keeps up to date key by key are updated by key in a copy of the previous file); personal "
    "data keyed-hashed and the file refused if it still holds e-mails, phones or customer "
    "names, or if a combination of a mart's quasi-identifiers describes fewer than "
    "K_ANONYMITY customers; the previous version is kept (marts.previous.duckdb, "
    "parquet.previous) for rollback. Beside it, restricted/crm_keys.duckdb maps the "
    "published customer ids to CRM refs, for the CRM team only.",
)
def marts_duckdb(settings: SettingsResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = settings.settings
    warehouse_path = Path(warehouse.path)
    result = publish_marts(
        warehouse_path,
        settings.publish_dir,
        MARTS,
        hash_key(warehouse_path.parent),
        warehouse.limits,
        MARTS_BY_KEY,
        settings.k_anonymity,
        crm_keys=True,
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "tables": dg.MetadataValue.json(result.tables),
            "masked_columns": dg.MetadataValue.json(
                {t: list(mart.pii) for t, mart in MARTS.items() if mart.pii}
            ),
            "quasi_identifiers": dg.MetadataValue.json(
                {t: list(m.quasi_identifiers) for t, m in MARTS.items() if m.quasi_identifiers}
            ),
            "k_anonymity": settings.k_anonymity,
            "previous_version": str(result.previous) if result.previous else "none",
            # copied from the previous version and updated by key, not copied whole
            "tables_by_key": dg.MetadataValue.json(result.tables_by_key),
            "parquet": dg.MetadataValue.path(str(result.parquet)),
            # How many names / e-mails / phones the file was checked against: 0 means
            # the warehouse had no raw or staging CRM data to compare with.
            "pii_reference": dg.MetadataValue.json(result.pii_reference),
        }
    )
