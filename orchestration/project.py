"""The dbt project handle, in its own module so that Dagster code and scripts share it."""

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from orchestration.lib.settings import REPO_ROOT, dbt_target_path, load_settings

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# The dbt installed beside this interpreter, whether or not the venv is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=dbt_target_path(load_settings().engine),
)


def dbt_cli() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


# What dbt reads when it parses (dbt_project.yml's paths; the seeds sit beside the project).
PARSED_PATHS = (
    DBT_PROJECT_DIR / "dbt_project.yml",
    DBT_PROJECT_DIR / "models",
    DBT_PROJECT_DIR / "macros",
    DBT_PROJECT_DIR / "tests",
    REPO_ROOT / "seeds",
)


# What a parse leaves that later commands read: Dagster the manifest, dbt its partial-parse
# state (copied into each dbt step's own target directory by dagster-dbt), MetricFlow's
# `mf` the semantic manifest (`cli metrics`).
PARTIAL_PARSE = "partial_parse.msgpack"
PARSE_OUTPUTS = ("manifest.json", PARTIAL_PARSE, "semantic_manifest.json")


def engine_target(engine: str) -> Path:
    """The directory dbt parses into for `engine` (settings.dbt_target_path)."""
    return DBT_PROJECT_DIR / dbt_target_path(engine)


def manifest_is_current(engine: str) -> bool:
    """Every parse output exists in the engine's target directory, its manifest was
    parsed for `engine` (configs differ by engine, e.g. a stateful model is incremental
    on DuckDB and a table on Spark), and no file dbt parses changed after it was
    written."""
    target = engine_target(engine)
    if not all((target / name).exists() for name in PARSE_OUTPUTS):
        return False
    manifest = target / "manifest.json"
    written = manifest.stat().st_mtime
    files = (f for path in PARSED_PATHS for f in (path, *path.rglob("*")))
    if not all(f.stat().st_mtime <= written for f in files):
        return False
    # the adapter is in the metadata, which dbt writes first: no need to load it whole
    with manifest.open() as text:
        adapter = re.search(r'"adapter_type":\s*"(\w+)"', text.read(2**16))
    return adapter is not None and adapter[1] == engine


def prepare_manifest(
    force: bool = False, dbt_vars: dict | None = None, engine: str | None = None
) -> None:
    """Parse the dbt project for `engine` (the profile's target of that name; default
    the WAREHOUSE_ENGINE setting) into its target directory (`engine_target`) when that
    holds no manifest, one parsed for another engine, or one older than a project file
    (or always, `force`).

    `prepare_if_dev()` only parses under `dagster dev`; runs, tests and the CLI call
    this so that a fresh clone (no manifest yet) or an edited model is picked up.
    Parsed with the run's own `dbt_vars` and engine, the run's dbt commands reuse this
    parse (dbt parses everything again when either differs).
    """
    engine = engine or load_settings().engine
    if force or not manifest_is_current(engine):
        args = ["parse", "--quiet", "--target", engine]
        if dbt_vars:
            args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
        target = engine_target(engine)
        # Parsed aside and moved in whole: another process (the UI, a second run, a
        # parallel test) may be reading target/ meanwhile.
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".parse-", dir=target) as aside:
            if (target / PARTIAL_PARSE).exists():  # dbt re-parses only what changed
                shutil.copy2(target / PARTIAL_PARSE, Path(aside) / PARTIAL_PARSE)
            dbt_cli().cli(args, target_path=Path(aside)).wait()
            for name in PARSE_OUTPUTS:
                os.replace(Path(aside) / name, target / name)


def load_manifest() -> dict:
    """The parsed project for the WAREHOUSE_ENGINE setting, parsed first if out of date."""
    prepare_manifest()
    return json.loads(dbt_project.manifest_path.read_text())


dbt_project.prepare_if_dev()
prepare_manifest()
