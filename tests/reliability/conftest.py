"""One generated landing set and one clean pipeline run, shared by the reliability modules:
a full run costs far more than the checks on its output, so each module copies this state
instead of running the pipeline from scratch."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.pipeline_cli import isolated_env, run_cli, table_checksums

GENERATOR_ARGS = ("--customers=400", "--days=60", "--seed=11")


@dataclass(frozen=True)
class CleanRun:
    root: Path
    checksums: dict[str, str]  # table -> content hash of the published marts file

    @property
    def published(self) -> Path:
        return self.root / "publish" / "marts.duckdb"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "warehouse.duckdb"


def pipeline_env(root: Path) -> dict[str, str]:
    """The CLI's environment for a root, with the default masking key (none in the env)."""
    env = isolated_env(root)
    env.pop("PUBLISH_HASH_KEY", None)
    return env


def copy_state(src: Path, dest: Path) -> dict[str, str]:
    """Copy a pipeline root (landing, warehouse, published file, Dagster instance) and return
    the environment that points the CLI at the copy."""
    shutil.copytree(src, dest, symlinks=True)
    return pipeline_env(dest)


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory) -> CleanRun:
    root = tmp_path_factory.mktemp("clean")
    env = pipeline_env(root)
    run_cli(env, *GENERATOR_ARGS, module="orchestration.generator")
    run_cli(env, "run")
    return CleanRun(root, table_checksums(root / "publish" / "marts.duckdb"))
