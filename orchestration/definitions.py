"""The one Dagster definitions object: ingestion, dbt, publishing, jobs and triggers."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.ingestion.assets import ingestion_assets, ingestion_checks
from orchestration.defs.jobs import (
    ingest_job,
    landing_files_sensor,
    nightly_job,
    nightly_schedule,
)
from orchestration.defs.publish.assets import marts_duckdb
from orchestration.defs.quality.identity import identity_checks, identity_resolution_runs
from orchestration.defs.resources import build_resources
from orchestration.defs.transform.assets import dbt_warehouse

defs = dg.Definitions(
    assets=[*ingestion_assets, dbt_warehouse, identity_resolution_runs, marts_duckdb],
    asset_checks=[*ingestion_checks, *identity_checks],
    jobs=[nightly_job, ingest_job],
    schedules=[nightly_schedule],
    sensors=[landing_files_sensor],
    resources=build_resources(),
)
