"""The dbt project handle, in its own module so that Dagster code and scripts share it."""

import json
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


def prepare_manifest(force: bool = False, dbt_vars: dict | None = None) -> None:
    """Parse the dbt project into target/manifest.json.

    `prepare_if_dev()` only parses under `dagster dev`; runs, tests and the CLI call
    this so that a fresh clone (no manifest yet) or an edited model is picked up.
    Parsed with the run's own `dbt_vars`, the run's dbt commands reuse this parse
    (dbt parses everything again when the vars differ).
    """
    if force or not dbt_project.manifest_path.exists():
        args = ["parse", "--quiet"]
        if dbt_vars:
            args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
        dbt_cli().cli(args, target_path=dbt_project.target_path).wait()


dbt_project.prepare_if_dev()
prepare_manifest()
