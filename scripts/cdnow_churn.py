"""The churn model on real data: the CDNOW log through the landing contract, then its
predictions as of 1997-09-30 against what each customer did in the next 39 weeks.

    python scripts/cdnow_churn.py [--root data/cdnow]

Writes the log's orders up to 1997-09-30 as web_orders landing files under ROOT, runs the
pipeline on them (`python -m orchestration.cli run`, as of 1997-09-30, the churn model
refitted on that day), and reports:

- the run's own metrics (`ml.churn_model_metrics`: its validation snapshot, before the
  as-of date, with the horizon CHURN_HORIZON_DAYS);
- ROC AUC for "no purchase in the 39 weeks after 1997-09-30" (Fader, Hardie & Lee's
  holdout period; the outcome read from the log itself, not from the warehouse), of the
  model's churn probability and of the two baselines: days since the last purchase, and
  BG/NBD expected purchases in 39 weeks (fitted on the same calibration summary).

The churn model trains on the horizon the pipeline is set to (90 days by default): 39 weeks
of labelled outcome do not fit in the 39 weeks of calibration data. Record the figures in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.datasets.cdnow import (
    CALIBRATION_END,
    HOLDOUT_WEEKS,
    RUN_ENV,
    holdout_report,
    read_log,
    write_landing,
)
from orchestration.lib.settings import REPO_ROOT, data_root_env


def run_pipeline(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    write_landing(root / "landing", read_log(), CALIBRATION_END)
    env = {**os.environ, **data_root_env(root), **RUN_ENV}
    command = [sys.executable, "-m", "orchestration.cli", "run"]
    with (root / "run.log").open("w") as log:
        done = subprocess.run(command, env=env, cwd=REPO_ROOT, stdout=log, stderr=log)
    if done.returncode != 0:
        sys.exit(f"the pipeline run failed; see {root / 'run.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT / "data" / "cdnow")
    parser.add_argument(
        "--no-run", action="store_true", help="report on the warehouse an earlier run left"
    )
    args = parser.parse_args()
    if not args.no_run:
        run_pipeline(args.root)
    own, holdout = holdout_report(args.root / "warehouse" / "warehouse.duckdb")
    print("The run's own validation (before the as-of date):")
    print(own.to_markdown(index=False, floatfmt=".4f"))
    print(f"\nNo purchase in the {HOLDOUT_WEEKS} weeks after {CALIBRATION_END}:")
    print(holdout.to_markdown(index=False, floatfmt=".4f"))


if __name__ == "__main__":
    main()
