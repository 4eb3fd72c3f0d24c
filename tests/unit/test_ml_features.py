"""BG/NBD expectation as a churn feature: one fit per snapshot, nothing shared across."""

import datetime as dt

import numpy as np
import pandas as pd

from orchestration.ml.clv import expected_purchases, fit_bgnbd
from orchestration.ml.features import TIME_UNIT_DAYS, add_bgnbd_expectation

EARLY, LATE = dt.date(2026, 1, 1), dt.date(2026, 4, 1)


def _summaries() -> pd.DataFrame:
    # roughly a BG/NBD population: gamma purchase rates, geometric dropout
    rng = np.random.default_rng(7)
    n = 2000
    weeks = rng.uniform(10, 40, n)
    rate = rng.gamma(0.5, 1 / 4, n)
    frequency = np.minimum(rng.poisson(rate * weeks), rng.geometric(rng.beta(1, 3, n)) - 1)
    last = weeks * rng.beta(np.maximum(frequency, 1), 1)
    t_days = (weeks * 7).round()
    recency = np.where(frequency > 0, np.minimum((last * 7).round(), t_days), 0)
    late = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "snapshot_date": LATE,
            "frequency": frequency,
            "recency_days": recency,
            "t_days": t_days,
        }
    )
    # at the early snapshot nobody has bought twice yet: BG/NBD cannot be fitted
    early = late.head(50).assign(snapshot_date=EARLY, frequency=0, recency_days=0, t_days=10)
    return pd.concat([early, late], ignore_index=True)


def test_each_snapshot_gets_its_own_fit_and_an_unfittable_one_stays_missing():
    summaries = _summaries()
    features = summaries[["customer_id", "snapshot_date"]].assign(other_feature=1.0)
    out = add_bgnbd_expectation(features, summaries, horizon_days=90)

    assert len(out) == len(features)
    assert out.loc[out.snapshot_date == EARLY, "bgnbd_expected_purchases"].isna().all()

    late = summaries[summaries.snapshot_date == LATE]
    x = late.frequency.to_numpy(float)
    t_x = late.recency_days.to_numpy(float) / TIME_UNIT_DAYS
    age = late.t_days.to_numpy(float) / TIME_UNIT_DAYS
    expected = expected_purchases(fit_bgnbd(x, t_x, age), 90 / TIME_UNIT_DAYS, x, t_x, age)
    got = out.loc[out.snapshot_date == LATE, "bgnbd_expected_purchases"].to_numpy()
    np.testing.assert_allclose(got, expected)
    assert (got > 0).all()


def test_without_any_snapshot_the_column_is_there_and_missing():
    # a young warehouse: no labelled snapshot yet, so the churn model asks with none
    summaries = _summaries().iloc[:0]
    features = pd.DataFrame(
        {"customer_id": ["C1"], "snapshot_date": [LATE], "other_feature": [1.0]}
    )
    out = add_bgnbd_expectation(features, summaries, horizon_days=90)
    assert list(out.columns) == [*features.columns, "bgnbd_expected_purchases"]
    assert out["bgnbd_expected_purchases"].isna().all() and len(out) == 1
