"""The dbt project handle, in its own module so that Dagster code and scripts share it."""

from __future__ import annotations

from dagster_dbt import DbtProject

from orchestration.lib.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_manifest(force: bool = False) -> None:
    """Parse the dbt project into target/manifest.json.

    `prepare_if_dev()` only parses under `dagster dev`; runs, tests and the CLI call
    this so that a fresh clone (no manifest yet) or an edited model is picked up.
    """
    if force or not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)


dbt_project.prepare_if_dev()
prepare_manifest()
