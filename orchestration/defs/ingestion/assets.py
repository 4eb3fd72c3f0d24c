"""One ingestion asset per contract source, built from the contract (no per-source code).

The assets are partitioned by delivery date. Materialising a window of days loads the
files of those days not yet recorded in `raw._files`, and again those whose size
changed since (a corrected file delivered under the same name); `reload` loads every
file of the window again from scratch (a backfill that changes nothing when the files
have not changed). A window of several days runs as one run, the days in order. A
landing directory that is missing or holds no delivery folder fails every ingestion
step before the warehouse is opened.
"""

import warnings

import dagster as dg
from pydantic import Field

from orchestration.defs.partitions import DELIVERY_DAYS
from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from orchestration.defs.source_checks import source_check
from orchestration.lib.contract import SOURCES, Source
from orchestration.lib.ingest import blocking_quarantines, ensure_raw_schema, ingest_source
from orchestration.lib.settings import QUARANTINE_RULES, load_settings

# A window of days runs as one run (single-run backfill policy): beta in Dagster, and
# said once here rather than on every run's terminal.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


class IngestConfig(dg.Config):
    reload: bool = Field(
        default=False,
        description="Forget what the window's days loaded before and load every file again.",
    )


def build_ingestion_asset(source: Source, retry_delay_s: int) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", source.name],
        group_name="raw",
        description=f"{source.description} (landing source `{source.name}`), typed and validated.",
        kinds={"duckdb", "python"},
        pool=WAREHOUSE_POOL,
        retry_policy=dg.RetryPolicy(max_retries=2, delay=retry_delay_s),
        partitions_def=DELIVERY_DAYS,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        settings: SettingsResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        scope = settings.scope(context)
        dates = scope.delivery_days()
        settings = settings.settings
        if problem := settings.landing_problem():
            raise dg.Failure(f"nothing loaded: {problem}")
        with warehouse.connect() as con:
            ensure_raw_schema(con)
            result = ingest_source(
                con,
                source,
                settings.landing_dir,
                batch_id=context.run.run_id,
                delivery_dates=dates,
                reload=config.reload,
                limits=settings.ingest,
            )
            table_rows = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]
        context.log.info(
            f"{source.name}: {result.files_loaded} files loaded, {result.files_quarantined} "
            f"quarantined, {result.rows_loaded} rows loaded, {result.rows_rejected} rejected"
        )
        return dg.MaterializeResult(
            metadata={
                "files_seen": result.files_seen,
                "files_loaded": result.files_loaded,
                "files_known": result.files_known,
                "files_duplicate": result.files_duplicate,
                "files_quarantined": result.files_quarantined,
                "files_skipped": result.files_skipped,
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_rejected": result.rows_rejected,
                "dagster/row_count": table_rows,
            }
        )

    return _ingest


def _quarantined_files(con, source: str, *_) -> dict:
    rows = con.execute(
        "select file, reason from raw._files where source = ? and status = 'quarantined'"
        " order by file",
        [source],
    ).fetchall()
    return {
        "passed": not rows,
        "severity": dg.AssetCheckSeverity.WARN,
        "metadata": {"quarantined": [f"{f}: {r}" for f, r in rows][:20], "count": len(rows)},
    }


def _blocking_quarantines(con, source: str, settings: SettingsResource, context) -> dict:
    as_of = settings.scope(context).as_of_date
    rule = settings.settings.quarantine_rule_for(source)
    rows = blocking_quarantines(con, source, rule, as_of)
    why = f"rule {rule}: {QUARANTINE_RULES[rule]}"
    return {
        "passed": not rows,
        "severity": dg.AssetCheckSeverity.ERROR,
        "description": (
            f"{why}; " + "; ".join(f"{f} quarantined: {r}" for f, r in rows[:5]) if rows else why
        ),
        "metadata": {
            "rule": rule,
            "as_of_date": as_of.isoformat(),
            "blocking": [f"{f}: {r}" for f, r in rows][:20],
            "count": len(rows),
        },
    }


no_quarantined_files = source_check(
    "no_quarantined_files",
    "Warns when a file of this source was quarantined whole (see raw._files).",
    _quarantined_files,
)
delivery_complete = source_check(
    "delivery_complete",
    "Fails when a quarantined file of this source blocks, by the source's rule "
    "(QUARANTINE_BLOCKS, QUARANTINE_BLOCKS_BY_SOURCE): `tonight` (the default) - a file of "
    "the as-of date's delivery, `any` - a file of any delivery, `never`. The marts and the "
    "published file then keep the last complete version until the file is re-delivered "
    "and its day reloaded (make reload FROM=... TO=...).",
    _blocking_quarantines,
    blocking=True,
)


# The retry delay is part of the asset definitions: read once, with the code location.
_retry_delay_s = load_settings().ingest.retry_delay_s
ingestion_assets = [build_ingestion_asset(s, _retry_delay_s) for s in SOURCES]


def reload_run_config() -> dict:
    """Run config that makes every ingestion step load its window's days again."""
    return {"ops": {asset.op.name: {"config": {"reload": True}} for asset in ingestion_assets}}


ingestion_checks = [no_quarantined_files, delivery_complete]
