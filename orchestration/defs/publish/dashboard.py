"""The nightly KPI dashboard, built from the published file once it is swapped in."""

import time
from pathlib import Path

import dagster as dg

from orchestration.defs.publish.assets import marts_duckdb
from orchestration.defs.quality.expectations import RESULTS_KEY
from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from orchestration.lib.dashboard import DASHBOARD_DIR, build_dashboard, read_check_results


@dg.asset(
    key=["publish", "dashboard"],
    group_name="publish",
    deps=[marts_duckdb.key, RESULTS_KEY],
    kinds={"html"},
    owners=["team:data-engineering"],
    # It reads the run's check results from the warehouse: in the pool, no writer has the
    # file open meanwhile, and it holds no writer back.
    pool=WAREHOUSE_POOL,
    description="KPI dashboard at $PUBLISH_DIR/dashboard/index.html: one static page (inline "
    "SVG charts, no script, nothing loaded from the network) of the published marts - "
    "executive overview, channel performance, customer value and churn risk, loyalty, "
    "customer experience - and the data quality results of the run that published them; "
    "swapped in atomically. Its marts are the dbt exposure `kpi_dashboard`.",
)
def dashboard(
    context: dg.AssetExecutionContext, settings: SettingsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    values = settings.settings
    started = time.perf_counter()
    # The quality results to show are those of the run that published the live file:
    # this run in the nightly job, an earlier one when the dashboard is rebuilt alone.
    published_by = context.instance.get_latest_materialization_event(marts_duckdb.key)
    if published_by is None:
        raise dg.Failure(f"nothing published in {values.publish_dir} yet: publish first")
    quality = read_check_results(Path(warehouse.path), published_by.run_id)
    result = build_dashboard(values.publish_path, values.publish_dir / DASHBOARD_DIR, quality)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "charts": len(result.charts),
            "chart_names": dg.MetadataValue.json(result.charts),
            "quality_results": len(quality),
            "quality_run_id": published_by.run_id,
            "size_bytes": result.path.stat().st_size,
            "build_seconds": round(time.perf_counter() - started, 3),
        }
    )
