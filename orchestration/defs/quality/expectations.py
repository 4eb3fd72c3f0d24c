"""Great Expectations suites (data_quality/) in Dagster: checks and a publish gate.

raw: one check `gx_expectations` per ingestion asset (one step for the layer). An
ERROR failure blocks dbt, so nothing built from broken raw data is published.

staging and marts: a run validates the staging rows changed since a run passed them
and the models' rows of its as-of date, every row of the marts. Their tables come out
of the dbt multi-assets, and a blocking
check on one of those outputs makes Dagster split the dbt step around it (dbt then
runs tests of models another step has not built yet). So, as for the identity gate,
the asset `dq/check_results` runs these suites once every mart is built, and one
blocking check per table sits on it: the publish asset depends on `dq/check_results`,
so an ERROR failure stops publishing; WARN failures are recorded and shown.

Every result lands in `dq.check_results`; each check lists its table's expectations in
the Dagster UI, and each run's report is a static page (orchestration/lib/quality_report),
`$WAREHOUSE_DIR/quality/runs/<run id>.html`, with an index of the runs beside it.
"""

from pathlib import Path

import dagster as dg

from data_quality.suites import TableSuite, layer_suites
from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource

RESULTS_KEY = dg.AssetKey(["dq", "check_results"])
RAW_CHECK_NAME = "gx_expectations"
GATED_LAYERS = ("staging", "marts")
MAX_LISTED_FAILURES = 20


def _table_key(suite: TableSuite) -> dg.AssetKey:
    # Asset keys mirror the warehouse: `<schema>/<table>`.
    return dg.AssetKey([suite.schema, suite.table])


def _gate_check_name(suite: TableSuite) -> str:
    return f"{suite.schema}__{suite.table}"


def _report_dir(warehouse: WarehouseResource) -> Path:
    from orchestration.lib.quality_report import REPORT_DIR

    return Path(warehouse.path).parent / REPORT_DIR


def _expectations_table(results) -> str:
    """Every expectation of a table in this run, failed ones first, as a Markdown table."""
    from orchestration.lib.dashboard import OUTCOMES, outcome

    def cell(text: str | None) -> str:
        return (text or "").replace("|", "\\|").replace("\n", " ")

    rows = sorted(results, key=lambda r: (OUTCOMES.index(outcome(r.success, r.severity)), r.check))
    return "| expectation | outcome | observed |\n| --- | --- | --- |\n" + "".join(
        f"| {cell(r.check)} | {outcome(r.success, r.severity)} | {cell(r.observed_value)} |\n"
        for r in rows
    )


def _check_result(results, report: Path, **key) -> dg.AssetCheckResult:
    """Fails when any expectation failed: severity ERROR (blocking) when an ERROR one did.
    Its metadata lists the table's expectations and links the run's report."""
    failed = [r for r in results if not r.success]
    blocking = [r for r in failed if r.blocks]
    return dg.AssetCheckResult(
        **key,
        passed=bool(results) and not failed,
        severity=dg.AssetCheckSeverity.ERROR
        if blocking or not results
        else dg.AssetCheckSeverity.WARN,
        metadata={
            "expectations": len(results),
            "failed_error": len(blocking),
            "failed_warn": len(failed) - len(blocking),
            "failures": dg.MetadataValue.json(
                [
                    {"check": r.check, "severity": r.severity, "observed": r.observed_value}
                    for r in failed[:MAX_LISTED_FAILURES]
                ]
                or ([] if results else [{"check": "none", "observed": "no result in this run"}])
            ),
            "expectations_table": dg.MetadataValue.md(_expectations_table(results)),
            "report": dg.MetadataValue.path(str(report)),
        },
    )


def _by_asset(results) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for r in results:
        grouped.setdefault(r.asset, []).append(r)
    return grouped


# --- raw: checks on the ingestion assets ---------------------------------------------

_RAW_SUITES = {_table_key(s): s for s in layer_suites("raw")}


@dg.multi_asset_check(
    name="gx_raw",
    specs=[
        dg.AssetCheckSpec(
            RAW_CHECK_NAME,
            asset=key,
            blocking=suite.has_error,
            description=f"Great Expectations suite {suite.asset}: contract domains, rules "
            "and timestamps; ERROR expectations block dbt, WARN ones are recorded.",
        )
        for key, suite in _RAW_SUITES.items()
    ],
    can_subset=True,
    pool=WAREHOUSE_POOL,
    description="Great Expectations suites of the raw layer.",
)
def gx_raw(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    settings: SettingsResource,
):
    # GX is imported only when a check runs: loading the definitions stays fast.
    from data_quality.results import validate
    from orchestration.lib.quality_report import write_quality_report

    keys = sorted((k.asset_key for k in context.selected_asset_check_keys), key=str)
    suites = [_RAW_SUITES[k] for k in keys]
    run_id = context.run.run_id
    with warehouse.connect() as con:
        results = _by_asset(
            validate(con, suites, run_id, chunk_rows=settings.settings.dq_chunk_rows)
        )
        report = write_quality_report(con, run_id, _report_dir(warehouse))
    for key, suite in zip(keys, suites, strict=True):
        yield _check_result(
            results.get(suite.asset, []), report, asset_key=key, check_name=RAW_CHECK_NAME
        )


# --- staging and marts: the gate before publishing ------------------------------------

_GATED_SUITES = {_gate_check_name(s): s for layer in GATED_LAYERS for s in layer_suites(layer)}


@dg.asset(
    key=RESULTS_KEY,
    group_name="dq",
    deps=[_table_key(s) for s in _GATED_SUITES.values()],
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Great Expectations results of the staging and marts suites, one row per "
    "run, table and expectation (raw results are added by the raw checks); the run's "
    "report in $WAREHOUSE_DIR/quality/runs/<run id>.html, readable offline.",
)
def check_results(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SettingsResource
) -> dg.MaterializeResult:
    from data_quality.results import ValidationScope, validate
    from orchestration.lib.quality_report import write_quality_report

    run = settings.scope(context)
    values = settings.settings
    scope = ValidationScope(
        as_of_date=run.as_of_date,
        full_refresh=run.full_refresh,
        lookback_hours=values.incremental_lookback_hours,
    )
    with warehouse.connect() as con:
        results = validate(
            con, _GATED_SUITES.values(), context.run.run_id, scope, values.dq_chunk_rows
        )
        report = write_quality_report(con, context.run.run_id, _report_dir(warehouse))
    failed = [r for r in results if not r.success]
    return dg.MaterializeResult(
        metadata={
            "expectations": len(results),
            "failed_error": sum(r.blocks for r in failed),
            "failed_warn": sum(not r.blocks for r in failed),
            "report": dg.MetadataValue.path(str(report)),
        }
    )


@dg.multi_asset_check(
    name="gx_gate",
    specs=[
        dg.AssetCheckSpec(
            name,
            asset=RESULTS_KEY,
            blocking=suite.has_error,
            description=f"Great Expectations suite {suite.asset} ({suite.layer} layer) "
            "passed in this run; an ERROR failure blocks publishing.",
        )
        for name, suite in _GATED_SUITES.items()
    ],
    can_subset=True,
    pool=WAREHOUSE_POOL,
    description="Staging and marts expectation results of this run, per table.",
)
def gx_gate(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    from data_quality.results import load_results
    from orchestration.lib.quality_report import run_page

    with warehouse.connect() as con:
        results = _by_asset(load_results(con, context.run.run_id))
    report = run_page(_report_dir(warehouse), context.run.run_id)  # written by check_results
    for name in sorted(k.name for k in context.selected_asset_check_keys):
        suite = _GATED_SUITES[name]
        yield _check_result(
            results.get(suite.asset, []), report, asset_key=RESULTS_KEY, check_name=name
        )


expectation_assets = [check_results]
expectation_checks = [gx_raw, gx_gate]
