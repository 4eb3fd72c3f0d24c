"""Phone numbers normalised with libphonenumber before dbt reads them (lib/phones): a thin
asset over the lookup of distinct raw values that the staging models join."""

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from orchestration.lib.phones import LOOKUP_TABLE, PHONE_COLUMNS, refresh_phone_lookup

PHONE_NUMBERS = dg.AssetKey(LOOKUP_TABLE.split("."))


@dg.asset(
    key=PHONE_NUMBERS,
    deps=sorted({dg.AssetKey(["raw", source]) for source, _ in PHONE_COLUMNS}, key=str),
    group_name="lookup",
    description="Per source and distinct raw phone value: its E.164 form (libphonenumber, read "
    "in the source's PHONE_REGION) or why it has none. Only values not seen before are parsed.",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def phone_numbers(
    context: dg.AssetExecutionContext, settings: SettingsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    values = settings.settings
    with warehouse.connect() as con:
        added = refresh_phone_lookup(con, values.phone_regions, values.incremental_lookback_hours)
        [(total, invalid)] = con.execute(
            f"select count(*), count(*) filter (where e164 is null) from {LOOKUP_TABLE}"
        ).fetchall()
    for source, counts in added.items():
        if counts["dropped_for_region_change"]:
            context.log.warning(
                f"{source}: its phone region is now {values.phone_regions.for_source(source)}; "
                f"{counts['dropped_for_region_change']} values are read again. Staging keeps "
                "the numbers it normalised before until `make run FULL_REFRESH=1`."
            )
    return dg.MaterializeResult(
        metadata={
            "values_added": sum(c["added"] for c in added.values()),
            "values_added_without_e164": sum(c["invalid"] for c in added.values()),
            "values_without_e164": invalid,
            "dagster/row_count": total,
            "regions": {s: values.phone_regions.for_source(s) for s in added},
        }
    )
