"""The governed metrics (dbt_project/models/semantic) parse and pass MetricFlow's
validation, so a broken semantic model or metric fails CI before any warehouse is built
(tests/e2e/test_pipeline.py checks them against the warehouse and the marts)."""

import json

from metricflow_semantic_interfaces.validations.semantic_manifest_validator import (
    SemanticManifestValidator,
)
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)

from orchestration.project import dbt_project, prepare_manifest

# The issue's headline KPIs, as metrics
HEADLINE_KPIS = {
    "revenue",
    "orders",
    "aov",
    "conversion_rate",
    "cac",
    "roas",
    "retention_rate",
    "repeat_purchase_rate",
    "nps",
    "csat",
    "ces",
    "points_liability",
    "clv",
    "churn_risk",
}


def semantic_manifest_json() -> str:
    prepare_manifest()  # parses unless the manifest is newer than every project file
    return (dbt_project.manifest_path.parent / "semantic_manifest.json").read_text()


def test_semantic_manifest_passes_metricflow_validation_without_issues():
    manifest = parse_manifest_from_dbt_generated_manifest(semantic_manifest_json())
    results = SemanticManifestValidator().validate_semantic_manifest(manifest)
    assert not results.all_issues, [issue.as_readable_str() for issue in results.all_issues]


def test_every_headline_kpi_is_a_described_metric():
    manifest = json.loads(semantic_manifest_json())
    metrics = manifest["metrics"]
    assert {metric["name"] for metric in metrics} >= HEADLINE_KPIS
    assert all(metric["description"] and metric["label"] for metric in metrics)
    time_spines = manifest["project_configuration"]["time_spines"]
    assert [spine["node_relation"]["alias"] for spine in time_spines] == ["dim_dates"]
