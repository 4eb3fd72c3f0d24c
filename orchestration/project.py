"""The dbt project handle, in its own module so that Dagster code and scripts share it."""

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from orchestration.lib.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# The dbt installed beside this interpreter, whether or not the venv is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_cli() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def prepare_manifest(force: bool = False) -> None:
    """Parse the dbt project into target/manifest.json.

    `prepare_if_dev()` only parses under `dagster dev`; runs, tests and the CLI call
    this so that a fresh clone (no manifest yet) or an edited model is picked up.
    """
    if force or not dbt_project.manifest_path.exists():
        dbt_cli().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


dbt_project.prepare_if_dev()
prepare_manifest()
