"""Model outputs used as churn features: BG/NBD fitted per snapshot date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.ml.clv import ClvFitError, expected_purchases, fit_bgnbd

TIME_UNIT_DAYS = 7


def add_bgnbd_expectation(
    features: pd.DataFrame, summaries: pd.DataFrame, *, horizon_days: int
) -> pd.DataFrame:
    """`features` with `bgnbd_expected_purchases`: the purchases BG/NBD expects of each
    customer in the `horizon_days` after the snapshot date, from a model fitted on that
    snapshot's summaries only (so nothing after the snapshot date is used)."""
    expectations = [
        pd.DataFrame(
            {
                "customer_id": pd.Series(dtype=summaries["customer_id"].dtype),
                "snapshot_date": pd.Series(dtype=summaries["snapshot_date"].dtype),
                "bgnbd_expected_purchases": pd.Series(dtype=float),
            }
        )
    ]  # no snapshot at all (a young warehouse): the column, all missing
    for snapshot_date, rows in summaries.groupby("snapshot_date", sort=True):
        frequency = rows["frequency"].to_numpy(dtype=float)
        recency = rows["recency_days"].to_numpy(dtype=float) / TIME_UNIT_DAYS
        age = rows["t_days"].to_numpy(dtype=float) / TIME_UNIT_DAYS
        try:
            fit = fit_bgnbd(frequency, recency, age)
        except ClvFitError:
            # too little history at this snapshot: missing, as the churn model allows
            expected = np.full(len(rows), np.nan)
        else:
            expected = expected_purchases(
                fit, horizon_days / TIME_UNIT_DAYS, frequency, recency, age
            )
        expectations.append(
            pd.DataFrame(
                {
                    "customer_id": rows["customer_id"].to_numpy(),
                    "snapshot_date": snapshot_date,
                    "bgnbd_expected_purchases": np.asarray(expected, dtype=float),
                }
            )
        )
    expected_by_customer = pd.concat(expectations, ignore_index=True)
    return features.merge(expected_by_customer, on=["customer_id", "snapshot_date"], how="left")
