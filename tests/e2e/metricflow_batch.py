"""Several `mf` command lines in one process, each as `cli metrics` runs it (the same
environment and directory, `orchestration.cli.metricflow_env`): `mf` spends about 10 s
importing and loading the dbt project and its adapter, paid here once for all of them.

    python -m tests.e2e.metricflow_batch '[["query", "--metrics", "revenue", ...], ...]'
"""

from __future__ import annotations

import json
import os
import sys

from dbt_metricflow.cli.cli_configuration import CLIConfiguration
from dbt_metricflow.cli.main import cli as mf

from orchestration.cli import metricflow_env
from orchestration.lib.settings import load_settings
from orchestration.project import DBT_PROJECT_DIR


def main(commands: list[list[str]]) -> None:
    os.environ.update(metricflow_env(load_settings()))
    os.chdir(DBT_PROJECT_DIR)
    config = CLIConfiguration()  # shared: the project and adapter load once
    for args in commands:
        mf.main(args, prog_name="mf", standalone_mode=False, obj=config)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
