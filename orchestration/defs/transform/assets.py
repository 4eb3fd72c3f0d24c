"""The dbt project as Dagster assets; dbt tests surface as asset checks."""

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource
from orchestration.lib.dbt_args import build_dbt_args
from orchestration.project import dbt_project


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys mirror the warehouse: `<schema>/<table>`; sources are `raw/<table>`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["schema"]


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# The marts that join the Python models' predictions (source('ml', ...)) build
# after them, in a second dbt invocation; everything else builds before.
ML_SOURCES_AND_DOWNSTREAM = "source:ml+"


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource):
    scope = settings.scope(context)
    values = settings.settings
    # profiles.yml reads WAREHOUSE_DIR and the DuckDB limits: hand dbt what Dagster uses.
    os.environ.update(values.dbt_env())
    args = build_dbt_args(values, scope, context.run.run_id)
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=ML_SOURCES_AND_DOWNSTREAM,
    pool=WAREHOUSE_POOL,
)
def dbt_warehouse(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource
):
    yield from _build(context, dbt, settings)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=ML_SOURCES_AND_DOWNSTREAM,
    name="dbt_customer_marts",
    pool=WAREHOUSE_POOL,
)
def dbt_customer_marts(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource
):
    yield from _build(context, dbt, settings)


def published_marts() -> dict[str, list[str]]:
    """Every model dbt builds in the `marts` schema, with its columns marked
    `meta: {pii: true}` (the publish step masks those)."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return {
        node["name"]: sorted(
            name for name, column in node["columns"].items() if column["meta"].get("pii")
        )
        for node in sorted(manifest["nodes"].values(), key=lambda n: n["name"])
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }
