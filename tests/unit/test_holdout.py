"""Holdout comparison of predictions with outcomes, on hand-made numbers."""

import pandas as pd
import pytest

from orchestration.ml.churn import calibration
from orchestration.ml.holdout import compare


def test_calibration_bins_by_rank_and_keeps_ties_together():
    # ranks 1..4 -> bins 1, 1, 2, 2 of two
    table = calibration(pd.Series([0.1, 0.2, 0.3, 0.4]).to_numpy(), [0, 0, 1, 1], bins=2)
    assert table.to_dict("list") == {
        "bin": [1, 2],
        "customers": [2, 2],
        "mean_predicted": pytest.approx([0.15, 0.35]),
        "mean_actual": [0.0, 1.0],
    }
    # three tied predictions share the average rank 2 -> all in bin 1
    tied = calibration(pd.Series([0.5, 0.5, 0.5, 0.9]).to_numpy(), [1, 0, 0, 0], bins=2)
    assert tied["customers"].tolist() == [3, 1]


def test_compare_totals():
    clv_scores = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "expected_purchases_90d": [2.0, 0.5],
            "expected_avg_order_value": [10.0, 20.0],
        }
    )
    churn_scores = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "churn_probability": [0.2, 0.9],
            "risk_tier": ["low", "high"],
            # B churned: recency ranks it riskier, BG/NBD (more purchases expected) does not
            "days_since_last_purchase": [10, 50],
            "bgnbd_expected_purchases": [0.1, 0.8],
        }
    )
    # A bought on 3 days after the cutoff (25 USD); B bought nothing (no row)
    actuals = pd.DataFrame(
        {
            "customer_id": ["A"],
            "purchase_days_clv_window": [3],
            "revenue_clv_window_usd": [25.0],
            "purchased_in_horizon": [True],
        }
    )
    totals, clv_table, churn_table = compare(clv_scores, churn_scores, actuals)
    assert totals["predicted purchase days"] == 2.5
    assert totals["actual purchase days"] == 3
    assert totals["predicted revenue (USD, undiscounted)"] == 2 * 10 + 0.5 * 20
    assert totals["actual revenue (USD)"] == 25
    assert totals["predicted churners (sum of probabilities)"] == pytest.approx(1.1)
    assert totals["actual churners"] == 1
    assert totals["churn ROC AUC on the outcome"] == 1.0
    assert totals["same, baseline days since last purchase"] == 1.0
    assert totals["same, baseline BG/NBD expected purchases"] == 0.0
    assert totals["actual churn rate, high risk tier"] == 1.0
    assert totals["actual churn rate, other tiers"] == 0.0
    assert clv_table["customers"].sum() == 2
    assert churn_table["mean_actual"].tolist() == [0.0, 1.0]
