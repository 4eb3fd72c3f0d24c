"""Fixtures shared across test layers."""

from __future__ import annotations

import pytest

from tests.e2e.pipeline_cli import (
    GENERATOR_ARGS,
    CleanRun,
    pipeline_env,
    plant_scenarios,
    run_cli,
    table_checksums,
)


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory) -> CleanRun:
    """One generated landing set (400 customers, 60 days, with the planted scenarios of
    `plant_scenarios`) and one clean pipeline run over it, shared by the e2e and
    reliability modules: a full run costs far more than the checks on its output, so
    each module copies this state instead of running again."""
    root = tmp_path_factory.mktemp("clean")
    env = pipeline_env(root)
    run_cli(env, *GENERATOR_ARGS, module="orchestration.generator")
    forgotten = plant_scenarios(root / "landing")
    run_cli(env, "run")
    return CleanRun(root, table_checksums(root / "publish" / "marts.duckdb"), forgotten)
