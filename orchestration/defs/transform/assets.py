"""The dbt project as Dagster assets. The data tests of each model surface as one asset
check, `dbt_tests`.

One check per model rather than one per test: Dagster stores every check twice per run
(planned when the run is created, then evaluated); the planned ones, ~9 ms each on
SQLite, made 668 tests cost ~10 s of creating every run whatever its size
(docs/benchmarks.md). The check fails when one of its
tests fails and names the failing ones in its metadata; it blocks downstream assets when
one of those has severity error. dbt itself still skips what is downstream of a failed
test, and a failed `dbt build` fails the step.
"""

import functools
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY, get_asset_check_key_for_test

from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource
from orchestration.lib.dbt_args import build_dbt_args
from orchestration.lib.engines import (
    copy_sources_for_spark,
    expose_spark_tables,
    has_ml_tables,
    spark_tables_dir,
)
from orchestration.lib.publish import PublishedMart, mart_nodes, marts_to_publish
from orchestration.lib.settings import Settings
from orchestration.lib.sql import scalar
from orchestration.project import dbt_project, load_manifest

DBT_TESTS_CHECK = "dbt_tests"


@dataclass(frozen=True)
class ModelTests:
    """A model's data tests (dagster-dbt's attachment rule: the tested model, the one
    parent, or `meta.dagster.ref`) and the check that stands for them. Sources get one
    too, but dagster-dbt makes checks of models' tests only (a source's test results
    are observations of the source)."""

    tests: Mapping[str, str]  # unique id -> test name
    spec: dg.AssetCheckSpec


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys mirror the warehouse: `<schema>/<table>`; sources are `raw/<table>`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["schema"]

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        """The model's `dbt_tests` check, the same one for each of its tests."""
        model = self.model_tests(manifest, project).get(asset_spec.key)
        return model.spec if model and unique_id in model.tests else None

    def model_tests(
        self, manifest: Mapping[str, Any], project: DbtProject | None
    ) -> dict[dg.AssetKey, ModelTests]:
        """Every model's data tests, grouped once per manifest (each parse has its own
        invocation id)."""
        parse = manifest["metadata"]["invocation_id"]
        if parse not in _MODEL_TESTS:
            _MODEL_TESTS[parse] = _group_tests(self, manifest, project)
        return _MODEL_TESTS[parse]


_MODEL_TESTS: dict[str, dict[dg.AssetKey, ModelTests]] = {}


def _severity(test: Mapping[str, Any]) -> str:
    return (test.get("config", {}).get("severity") or "error").lower()


def _group_tests(
    translator: DagsterDbtTranslator, manifest: Mapping[str, Any], project: DbtProject | None
) -> dict[dg.AssetKey, ModelTests]:
    tests_by_key: dict[dg.AssetKey, list[str]] = defaultdict(list)
    for unique_id in sorted(manifest["nodes"]):
        check_key = get_asset_check_key_for_test(manifest, translator, unique_id, project)
        if check_key is not None:
            tests_by_key[check_key.asset_key].append(unique_id)
    model_by_key = {
        translator.get_asset_key(node): unique_id
        for unique_id, node in [*manifest["nodes"].items(), *manifest["sources"].items()]
        if node["resource_type"] != "test"
    }
    grouped = {}
    for key, tests in tests_by_key.items():
        nodes = [manifest["nodes"][test] for test in tests]
        parents = {
            translator.get_asset_key(manifest["nodes"].get(parent) or manifest["sources"][parent])
            for test in tests
            for parent in manifest["parent_map"].get(test, [])
        } - {key}
        grouped[key] = ModelTests(
            tests={test: node["name"] for test, node in zip(tests, nodes, strict=True)},
            spec=dg.AssetCheckSpec(
                DBT_TESTS_CHECK,
                asset=key,
                blocking=any(_severity(node) == "error" for node in nodes),
                additional_deps=sorted(parents, key=str),
                description=f"The {len(nodes)} dbt data tests of this model: "
                + ", ".join(sorted(node["name"] for node in nodes)),
                # dagster-dbt selects this node when the check runs without its model
                metadata={DAGSTER_DBT_UNIQUE_ID_METADATA_KEY: model_by_key[key]},
            ),
        )
    return grouped


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# The marts that join the Python models' predictions (source('ml', ...)) build
# after them, in a second dbt invocation; everything else builds before.
ML_SOURCES_AND_DOWNSTREAM = "source:ml+"


def _dbt_command(context: dg.AssetExecutionContext) -> str:
    """`build` for selected models with their tests, `test` for tests alone. A model
    cannot be built with only part of the checks of the step's models: dbt selects tests
    through the models they test."""
    # the step's whole assets definition, not only the part selected for this run
    own = set(context.assets_def.node_keys_by_output_name.values())
    models = context.selected_asset_keys
    checked = {
        key.asset_key
        for key in context.selected_asset_check_keys
        if key.name == DBT_TESTS_CHECK and key.asset_key in own
    }
    if not models:
        return "test"
    with_tests = {
        spec.asset_key for spec in context.assets_def.node_check_specs_by_output_name.values()
    } & models
    if checked != with_tests:
        raise dg.Failure(
            "dbt tests run with the models they test: select each model with its "
            f"{DBT_TESTS_CHECK} check, or the checks alone "
            f"(without tests: {sorted(k.to_user_string() for k in with_tests - checked)}; "
            f"tests without the model: {sorted(k.to_user_string() for k in checked - models)})"
        )
    return "build"


# The one-row model every as-of cut reads (the run's as-of date and the calendar's span).
RUN_CONTEXT = "model.omnichannel_warehouse.int_run_context"


@functools.cache
def _run_context_readers() -> frozenset[dg.AssetKey]:
    """The assets of the models built on int_run_context, directly or not."""
    manifest = load_manifest()
    readers, frontier = set(), [RUN_CONTEXT]
    while frontier:
        for child in manifest["child_map"][frontier.pop()]:
            if child.startswith("model.") and child not in readers:
                readers.add(child)
                frontier.append(child)
    return frozenset(translator.get_asset_key(manifest["nodes"][uid]) for uid in readers)


def _check_run_context(context: dg.AssetExecutionContext, values, as_of: date) -> None:
    """A step that builds models cutting at the as-of date but not int_run_context finds it
    built as of this run, or stops: its marts would silently cut at another date."""
    node = load_manifest()["nodes"][RUN_CONTEXT]
    if translator.get_asset_key(node) in context.selected_asset_keys or not (
        context.selected_asset_keys & _run_context_readers()
    ):
        return
    relation = f"{node['schema']}.{node['alias']}"
    with values.duckdb.connect(values.warehouse_path, read_only=True) as con:
        try:
            built = scalar(con, f"select as_of_date from {relation}")
        except duckdb.CatalogException:
            built = "never"
    if built != as_of:
        raise dg.Failure(
            f"this run is as of {as_of}, but {relation} (the as-of date every mart cuts at) "
            f"was built as of {built}: select {translator.get_asset_key(node).to_user_string()} "
            "with the models that read it"
        )


def _prepare_spark_sources(dbt: DbtCliResource, values: Settings) -> None:
    """The tables Python writes, copied to the Parquet Spark reads. On a warehouse no dbt
    build has created the ml tables in yet, their DDL (macro create_ml_tables, which the
    DuckDB target runs at every start) is run on the warehouse file first."""
    with values.duckdb.connect(values.warehouse_path, read_only=True) as con:
        has_ml = has_ml_tables(con)
    if not has_ml:
        dbt.cli(["run-operation", "create_ml_tables_now", "--target", "duckdb"]).wait()
    with values.duckdb.connect(values.warehouse_path, read_only=True) as con:
        copy_sources_for_spark(con, values.parquet_dir)


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource):
    scope = settings.scope(context)
    values = settings.settings
    # profiles.yml reads WAREHOUSE_DIR and the DuckDB and Spark limits: hand dbt what
    # Dagster uses.
    os.environ.update(values.dbt_env())
    if values.engine == "spark":
        _prepare_spark_sources(dbt, values)
    _check_run_context(context, values, scope.as_of_date)
    args = build_dbt_args(values, scope, context.run.run_id, command=_dbt_command(context))
    invocation = dbt.cli(args, context=context, raise_on_error=False)
    model_tests = translator.model_tests(invocation.manifest, dbt_project)
    # the tests behind this step's checks; a source's tests (no check) stay observations
    checked_tests = {
        test
        for spec in context.assets_def.node_check_specs_by_output_name.values()
        for test in model_tests[spec.asset_key].tests
    }
    test_results: dict[str, Mapping[str, Any]] = {}
    events = []
    for event in invocation.stream_raw_events():
        unique_id = event.raw_event["data"].get("node_info", {}).get("unique_id", "")
        if event.is_result_event and unique_id in checked_tests:
            test_results[unique_id] = event.raw_event["data"]
            continue
        events += event.to_default_asset_events(
            manifest=invocation.manifest,
            dagster_dbt_translator=translator,
            context=context,
            target_path=invocation.target_path,
            project=dbt_project,
        )
    # dbt has exited: the file is free (DuckDB has one writer process at a time)
    with values.duckdb.connect(values.warehouse_path, read_only=values.engine != "spark") as con:
        if values.engine == "spark":
            expose_spark_tables(
                con, invocation.manifest["nodes"].values(), spark_tables_dir(values.warehouse_dir)
            )
        yield from with_table_metadata(events, con, invocation.manifest)
    yield from dbt_tests_verdicts(context.selected_asset_check_keys, model_tests, test_results)
    if not invocation.is_successful():
        raise invocation.get_error()


def with_table_metadata(
    events: list, con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]
) -> Iterator:
    """The events, each model's output with the row count and the column schema (the
    types DuckDB has, the descriptions of the YAML) of what dbt built. A view's rows are
    not counted: that would run its query."""
    columns: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for schema, table, column, data_type in con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where not internal order by schema_name, table_name, column_index"
    ).fetchall():
        columns[schema, table].append((column, data_type))
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, dg.Output) else None
        node = manifest["nodes"].get(getattr(unique_id, "value", unique_id))
        built = columns.get((node["schema"], node["alias"])) if node else None
        if built:
            yield event.with_metadata({**event.metadata, **_table_metadata(con, node, built)})
        else:
            yield event


def _table_metadata(
    con: duckdb.DuckDBPyConnection, node: Mapping[str, Any], columns: list[tuple[str, str]]
) -> dict:
    described = node.get("columns", {})
    metadata = {
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(
                    column, data_type, description=described.get(column, {}).get("description")
                )
                for column, data_type in columns
            ]
        )
    }
    if node["config"].get("materialized") != "view":
        relation = f'"{node["schema"]}"."{node["alias"]}"'
        metadata["dagster/row_count"] = dg.MetadataValue.int(
            scalar(con, f"select count(*) from {relation}")
        )
    return metadata


def dbt_tests_verdicts(
    check_keys: set[dg.AssetCheckKey],
    model_tests: Mapping[dg.AssetKey, ModelTests],
    results: Mapping[str, Mapping[str, Any]],
) -> Iterator[dg.AssetCheckResult]:
    """One result per selected `dbt_tests` check, from dbt's results of its tests. It
    fails when a test did not pass and is an error when one failed or errored (a warning
    when they only warned). A check none of whose tests ran (dbt skipped them after an
    upstream failure) gets no result."""
    for key in sorted(check_keys, key=str):
        model = model_tests.get(key.asset_key)
        if key.name != DBT_TESTS_CHECK or model is None:
            continue
        ran = {name: results[test] for test, name in model.tests.items() if test in results}
        if not ran:
            continue
        failed = {name: result for name, result in ran.items() if result["status"] != "pass"}
        yield dg.AssetCheckResult(
            asset_key=key.asset_key,
            check_name=DBT_TESTS_CHECK,
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR
            if any(r["status"] in ("fail", "error") for r in failed.values())
            else dg.AssetCheckSeverity.WARN,
            description="; ".join(
                f"{name}: {result['status']} ({result.get('num_failures')} rows)"
                for name, result in sorted(failed.items())
            )
            or f"{len(ran)} tests passed",
            metadata={
                "tests": len(ran),
                "failed": dg.MetadataValue.json(
                    {
                        name: {"status": r["status"], "failing_rows": r.get("num_failures")}
                        for name, r in sorted(failed.items())
                    }
                ),
            },
        )


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


def published_marts() -> dict[str, PublishedMart]:
    """The marts of the project's manifest as the publish step takes them."""
    return marts_to_publish(load_manifest())


def marts_replaced_by_key() -> dict[str, str]:
    """The marts dbt keeps up to date key by key (incremental strategy `replace_keys`),
    with their key column: the publish step copies only their replaced keys."""
    return {
        node["name"]: node["config"]["unique_key"]
        for node in mart_nodes(load_manifest())
        if node["config"].get("materialized") == "incremental"
        and node["config"].get("incremental_strategy") == "replace_keys"
    }
