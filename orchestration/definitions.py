"""The one Dagster definitions object: ingestion, dbt, models, publishing, jobs, triggers."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.feedback.assets import feedback_text_scores, negative_spike_on_as_of_date
from orchestration.defs.identity.assets import phone_numbers
from orchestration.defs.ingestion.assets import ingestion_assets, ingestion_checks
from orchestration.defs.jobs import (
    alert_on_run_failure,
    ingest_job,
    landing_files_sensor,
    nightly_job,
    nightly_schedule,
)
from orchestration.defs.ml.assets import churn_model, clv_models
from orchestration.defs.publish.assets import marts_duckdb
from orchestration.defs.publish.dashboard import dashboard
from orchestration.defs.quality.expectations import expectation_assets, expectation_checks
from orchestration.defs.quality.identity import identity_checks, identity_resolution_runs
from orchestration.defs.quality.reconciliation import reconciliation_checks
from orchestration.defs.resources import build_resources
from orchestration.defs.transform.assets import dbt_customer_marts, dbt_warehouse
from orchestration.lib.memory import exclude_loaded_objects

defs = dg.Definitions(
    assets=[
        *ingestion_assets,
        phone_numbers,
        dbt_warehouse,
        clv_models,
        churn_model,
        feedback_text_scores,
        dbt_customer_marts,
        identity_resolution_runs,
        *expectation_assets,
        marts_duckdb,
        dashboard,
    ],
    asset_checks=[
        *ingestion_checks,
        *identity_checks,
        *reconciliation_checks,
        *expectation_checks,
        negative_spike_on_as_of_date,
    ],
    jobs=[nightly_job, ingest_job],
    schedules=[nightly_schedule],
    sensors=[landing_files_sensor, alert_on_run_failure],
    resources=build_resources(),
)

exclude_loaded_objects()
