"""The CDNOW purchase log (tests/fixtures/cdnow/CDNOW_master.txt) as landing files: real
customers' orders fed through the landing contract, to judge the models on real data.

Each line (customer id, date, number of CDs, dollar value) becomes a delivered web order
of that customer (`customer_ref`), in the delivery folder of its day:

    python -m orchestration.datasets.cdnow --landing-dir DIR [--last-day 1997-09-30]

The log has no time of day: an order is placed at noon UTC. Lines of one customer and
day are separate orders (the warehouse merges them into one purchase day).
`holdout_report` judges a run's churn predictions as of 1997-09-30 against the log's next
39 weeks (scripts/cdnow_churn.py, tests/e2e/test_cdnow.py).
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from orchestration.lib.settings import REPO_ROOT
from orchestration.ml.churn import roc_auc
from orchestration.ml.clv import expected_purchases, fit_bgnbd

CDNOW_LOG = REPO_ROOT / "tests" / "fixtures" / "cdnow" / "CDNOW_master.txt"
# The end of the 39-week calibration period of Fader, Hardie & Lee (2005), and of the log.
CALIBRATION_END = date(1997, 9, 30)
LOG_END = date(1998, 6, 30)
HOLDOUT_WEEKS = 39
# A log customer's CRM reference in the landing files.
CUSTOMER_REF_PREFIX = "CDNOW"
# One source, one customer identifier, a cohort that only ages: the quality gates meant
# for a live retailer's deliveries (freshness of the other sources, volume, merges) do
# not apply to a closed log.
RUN_ENV = {
    "AS_OF_DATE": CALIBRATION_END.isoformat(),
    "CHURN_REFIT_DAYS": "1",
    "QUARANTINE_BLOCKS": "never",
    "IDENTITY_MERGES_FLOOR": "1000000000",
}


def read_log(path: Path = CDNOW_LOG) -> pd.DataFrame:
    """customer_id, order_date, number_of_cds, dollar_value; one row per log line."""
    log = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    log["order_date"] = pd.to_datetime(log.pop("date"), format="%Y%m%d").dt.date
    return log


def write_landing(landing_dir: Path, log: pd.DataFrame, last_day: date | None = None) -> int:
    """Write the log's orders up to `last_day` as web_orders CSV files, one delivery folder
    per day; returns the number of orders written."""
    orders = log if last_day is None else log[log["order_date"] <= last_day]
    orders = orders.assign(line=orders.groupby(["customer_id", "order_date"]).cumcount() + 1)
    day = orders["order_date"].astype(str)
    files = pd.DataFrame(
        {
            "order_id": "CD"
            + orders["customer_id"]
            + "-"
            + day.str.replace("-", "")
            + "-"
            + orders["line"].astype(str),
            "order_ts": day + "T12:00:00Z",
            "storefront": "web",
            "status": "delivered",
            "customer_ref": CUSTOMER_REF_PREFIX + orders["customer_id"],
            "currency": "USD",
            "gross_amount": orders["dollar_value"].map("{:.2f}".format),
            "net_amount": orders["dollar_value"].map("{:.2f}".format),
            "item_count": orders["number_of_cds"],
        }
    )
    for delivery, rows in files.groupby(day, sort=True):
        folder = landing_dir / "web_orders" / delivery
        folder.mkdir(parents=True, exist_ok=True)
        rows.to_csv(folder / "cdnow_orders.csv", index=False)
    return len(files)


def holdout_report(warehouse: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the run's own metrics, ROC AUC on the 39-week outcome per predictor)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        own = con.execute(
            "select model_name, roc_auc, pr_auc, brier_score, calibration_error, n_training, "
            "n_validation "
            "from ml.churn_model_metrics where as_of_date = ? "
            "qualify run_id = last(run_id order by rowid) over () order by model_name",
            [CALIBRATION_END],
        ).df()
        scored = con.execute(
            """
            select churn.customer_id, churn.churn_probability, summary.frequency,
                summary.recency_days, summary.t_days,
                summary.t_days - summary.recency_days as days_since_last_purchase,
                identifiers.identifier_value as customer_ref
            from ml.customer_churn as churn
            inner join features.customer_purchase_summaries as summary
                on churn.customer_id = summary.customer_id
                and churn.as_of_date = summary.snapshot_date
            inner join identity.customer_identifiers as identifiers
                on churn.customer_id = identifiers.customer_id
                and identifiers.identifier_type = 'crm'
            where churn.as_of_date = ?
            """,
            [CALIBRATION_END],
        ).df()
    log = read_log()
    holdout_end = CALIBRATION_END + timedelta(weeks=HOLDOUT_WEEKS)
    bought = set(
        CUSTOMER_REF_PREFIX
        + log.loc[
            (log["order_date"] > CALIBRATION_END) & (log["order_date"] <= holdout_end),
            "customer_id",
        ]
    )
    churned = (~scored["customer_ref"].isin(bought)).astype(int)
    x, t_x, age = (scored[c].to_numpy(dtype=float) for c in ("frequency", "recency_days", "t_days"))
    fit = fit_bgnbd(x, t_x / 7, age / 7)
    expected = expected_purchases(fit, HOLDOUT_WEEKS, x, t_x / 7, age / 7)
    predictors = {
        "gradient_boosting (churn_probability)": scored["churn_probability"].to_numpy(),
        "baseline_recency (days since last purchase)": scored["days_since_last_purchase"],
        "baseline_bgnbd (expected purchases in 39 weeks)": -np.asarray(expected),
    }
    holdout = pd.DataFrame(
        {
            "predictor": list(predictors),
            "roc_auc_39_weeks": [roc_auc(churned.to_numpy(), p) for p in predictors.values()],
        }
    )
    holdout["customers"] = len(scored)
    holdout["churn_rate"] = float(churned.mean())
    return own, holdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing-dir", type=Path, required=True)
    parser.add_argument("--last-day", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    written = write_landing(args.landing_dir, read_log(), args.last_day)
    print(f"{written:,} CDNOW orders written to {args.landing_dir}")


if __name__ == "__main__":
    main()
