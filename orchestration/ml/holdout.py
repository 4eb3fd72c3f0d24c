"""Holdout evaluation: the models run on data cut at an earlier date, their predictions
compared with what happened in the days after it.

The warehouse is copied to a scratch directory and the dbt feature models are rebuilt
there as of the cutoff, so the evaluation never writes the pipeline's warehouse;
actual outcomes come from the same copy's `marts.fct_orders`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.settings import DuckDBLimits
from orchestration.ml.churn import (
    DEFAULT_MAX_TRAINING_ROWS,
    InsufficientHistoryError,
    calibration,
    roc_auc,
    score,
    train_and_evaluate,
)
from orchestration.ml.clv import score_customers
from orchestration.ml.features import add_bgnbd_expectation
from orchestration.ml.tables import SNAPSHOT_ORDER, read_table

CLV_WINDOW_DAYS = 90  # compared with expected_purchases_90d


@dataclass(frozen=True)
class HoldoutReport:
    cutoff: date
    horizon_days: int
    totals: dict[str, float]
    clv_calibration: pd.DataFrame
    churn_calibration: pd.DataFrame | None
    churn_metrics: pd.DataFrame | None
    # Why the churn model was not evaluated (too little history before the cutoff).
    churn_not_evaluated: str | None = None

    def to_markdown(self) -> str:
        totals = pd.DataFrame(
            {"measure": list(self.totals), "value": [round(v, 4) for v in self.totals.values()]}
        )
        churn = (
            [f"Churn model not evaluated: {self.churn_not_evaluated}"]
            if self.churn_not_evaluated
            else [
                "Churn probability by decile of the prediction:",
                self.churn_calibration.to_markdown(index=False),
                "Churn model metrics on its own validation snapshot (before the cutoff):",
                self.churn_metrics.to_markdown(index=False),
            ]
        )
        return "\n\n".join(
            [
                f"### Holdout at {self.cutoff} (CLV {CLV_WINDOW_DAYS} days, churn "
                f"{self.horizon_days} days after it)",
                totals.to_markdown(index=False),
                "Expected purchases by decile of the prediction:",
                self.clv_calibration.to_markdown(index=False),
                *churn,
            ]
        )


def compare(
    clv_scores: pd.DataFrame, churn_scores: pd.DataFrame, actuals: pd.DataFrame
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """Totals and calibration tables of predictions against outcomes.

    churn_scores: customer_id, churn_probability, risk_tier and the two baseline scores
    days_since_last_purchase and bgnbd_expected_purchases.
    actuals: customer_id, purchase_days_clv_window, revenue_clv_window_usd,
    purchased_in_horizon (customers without a row bought nothing after the cutoff).
    """
    clv_totals, clv_table = compare_clv(clv_scores, actuals)
    churn_totals, churn_table = compare_churn(churn_scores, actuals)
    return {**clv_totals, **churn_totals}, clv_table, churn_table


def compare_clv(
    clv_scores: pd.DataFrame, actuals: pd.DataFrame
) -> tuple[dict[str, float], pd.DataFrame]:
    """The CLV half of `compare`."""
    clv = clv_scores.merge(actuals, on="customer_id", how="left")
    purchases = clv["purchase_days_clv_window"].fillna(0).to_numpy(dtype=float)
    revenue = clv["revenue_clv_window_usd"].fillna(0).to_numpy(dtype=float)
    predicted_purchases = clv["expected_purchases_90d"].to_numpy(dtype=float)
    predicted_revenue = predicted_purchases * clv["expected_avg_order_value"].to_numpy(float)
    totals = {
        "customers scored (CLV)": float(len(clv)),
        "predicted purchase days": float(predicted_purchases.sum()),
        "actual purchase days": float(purchases.sum()),
        "predicted revenue (USD, undiscounted)": float(predicted_revenue.sum()),
        "actual revenue (USD)": float(revenue.sum()),
    }
    return totals, calibration(predicted_purchases, purchases)


def compare_churn(
    churn_scores: pd.DataFrame, actuals: pd.DataFrame
) -> tuple[dict[str, float], pd.DataFrame]:
    """The churn half of `compare`."""
    churn = churn_scores.merge(actuals, on="customer_id", how="left")
    churned = ~churn["purchased_in_horizon"].fillna(False).to_numpy(dtype=bool)
    probability = churn["churn_probability"].to_numpy(dtype=float)
    high = churn["risk_tier"].to_numpy() == "high"
    totals = {
        "customers scored (churn)": float(len(churn)),
        "predicted churners (sum of probabilities)": float(probability.sum()),
        "actual churners": float(churned.sum()),
        "churn ROC AUC on the outcome": roc_auc(churned.astype(int), probability),
        "same, baseline days since last purchase": roc_auc(
            churned.astype(int), churn["days_since_last_purchase"].to_numpy(dtype=float)
        ),
        "same, baseline BG/NBD expected purchases": roc_auc(
            churned.astype(int), -churn["bgnbd_expected_purchases"].to_numpy(dtype=float)
        ),
        "actual churn rate, high risk tier": float(churned[high].mean()) if high.any() else 0.0,
        "actual churn rate, other tiers": float(churned[~high].mean()) if (~high).any() else 0.0,
    }
    return totals, calibration(probability, churned.astype(float))


def actual_outcomes(
    con: duckdb.DuckDBPyConnection, cutoff: date, horizon_days: int
) -> pd.DataFrame:
    """What each customer bought after the cutoff: purchase days and revenue in the CLV
    window, and whether they bought at all within the churn horizon."""
    return con.execute(
        """
        select
            customer_id,
            count(distinct order_date) filter (where order_date <= ?::date + ?)
                as purchase_days_clv_window,
            coalesce(sum(revenue_usd) filter (where order_date <= ?::date + ?), 0)
                as revenue_clv_window_usd,
            bool_or(order_date <= ?::date + ?) as purchased_in_horizon
        from marts.fct_orders
        where is_purchase and customer_id is not null and order_date > ?::date
        group by customer_id
        """,
        [cutoff, CLV_WINDOW_DAYS, cutoff, CLV_WINDOW_DAYS, cutoff, horizon_days, cutoff],
    ).df()


def rebuild_features(
    dbt: str | Path,
    warehouse_dir: Path,
    cutoff: date,
    horizon_days: int,
    duckdb_limits: DuckDBLimits,
) -> None:
    """Build the dbt feature models in `warehouse_dir` as of the cutoff."""
    project = Path(__file__).resolve().parents[2] / "dbt_project"
    # Refit on the cutoff itself: the holdout judges a model trained as of that day.
    variables = {
        "as_of_date": cutoff.isoformat(),
        "churn_horizon_days": horizon_days,
        "churn_refit_days": 1,
    }
    command = [
        str(dbt),
        "build",
        "--select",
        "int_run_context",  # the as-of date the features read
        "features",
        "--vars",
        json.dumps(variables),
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(warehouse_dir / "target"),
        "--log-path",
        str(warehouse_dir / "logs"),
    ]
    env = {**os.environ, "WAREHOUSE_DIR": str(warehouse_dir), **duckdb_limits.env()}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"dbt build of the features as of {cutoff} failed:\n{done.stdout[-3000:]}"
        )


def evaluate_holdout(
    warehouse_path: Path,
    scratch_dir: Path,
    cutoff: date,
    as_of: date,
    *,
    horizon_days: int,
    dbt: str | Path,
    duckdb_limits: DuckDBLimits,
    clv_model: str = "bgnbd",
    max_training_rows: int | None = DEFAULT_MAX_TRAINING_ROWS,
) -> HoldoutReport:
    """Cut at `cutoff`, predict, and compare with the warehouse's orders up to `as_of`."""
    needed = cutoff + timedelta(days=max(horizon_days, CLV_WINDOW_DAYS))
    if needed > as_of:
        raise ValueError(
            f"cutoff {cutoff} leaves less than {max(horizon_days, CLV_WINDOW_DAYS)} days of "
            f"outcomes before the as-of date {as_of}: choose a cutoff on or before "
            f"{as_of - timedelta(days=max(horizon_days, CLV_WINDOW_DAYS))}"
        )
    scratch_dir.mkdir(parents=True, exist_ok=True)
    copy = scratch_dir / "warehouse.duckdb"
    shutil.copyfile(warehouse_path, copy)
    rebuild_features(dbt, scratch_dir, cutoff, horizon_days, duckdb_limits)
    with duckdb_limits.connect(copy) as con:
        summaries = read_table(con, "features.customer_purchase_summaries", SNAPSHOT_ORDER)
        features = read_table(con, "features.customer_churn_features", SNAPSHOT_ORDER)
        actuals = actual_outcomes(con, cutoff, horizon_days)
    clv_scores, _ = score_customers(
        summaries[summaries["snapshot_role"] == "scoring"], model=clv_model
    )
    features = add_bgnbd_expectation(features, summaries, horizon_days=horizon_days)
    try:
        evaluation = train_and_evaluate(
            features, horizon_days=horizon_days, max_training_rows=max_training_rows
        )
    except InsufficientHistoryError as exc:
        # A young warehouse: the CLV part still says how good the fit was.
        totals, clv_table = compare_clv(clv_scores, actuals)
        latest = cutoff - timedelta(days=2 * horizon_days)
        why = f"{exc} (the latest training snapshot is {latest}, two horizons before the cutoff)"
        return HoldoutReport(cutoff, horizon_days, totals, clv_table, None, None, why)
    baselines = features.loc[
        features["snapshot_role"] == "scoring",
        ["customer_id", "days_since_last_purchase", "bgnbd_expected_purchases"],
    ]
    churn_scores = score(evaluation, features).merge(baselines, on="customer_id")
    totals, clv_table, churn_table = compare(clv_scores, churn_scores, actuals)
    return HoldoutReport(cutoff, horizon_days, totals, clv_table, churn_table, evaluation.metrics)
