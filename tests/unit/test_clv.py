"""CLV math against the published CDNOW estimates and hand-computed closed forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchestration.ml import clv

CDNOW = Path(__file__).resolve().parents[1] / "fixtures" / "cdnow" / "cdnow_summary.csv"
CDNOW_MASTER = CDNOW.with_name("CDNOW_master.txt")
# lifetimes 0.11.3 BetaGeoFitter (penalizer 0) on the full CDNOW log's calibration summary
# (23,570 customers, 1997-09-30, weeks from day counts): computed once outside this project
# (tests/fixtures/cdnow/README.md), an implementation independent of orchestration/ml/clv.py.
LIFETIMES_FULL_BGNBD = {
    "r": 0.251624011424104,
    "alpha": 4.788945170327031,
    "a": 0.7234330357288045,
    "b": 2.1610869813723355,
}
BGNBD = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
PARETO = {"r": 0.5533, "alpha": 10.5777, "s": 0.6062, "beta": 11.6677}
GAMMA_GAMMA = {"p": 6.2496, "q": 3.7442, "gamma": 15.4435}
# numerically extreme customers: huge frequency, decades of silence, brand new
EXTREME = {
    "frequency": np.array([10_000.0, 10_000.0, 10_000.0, 0.0, 3.0]),
    "recency": np.array([1.0, 1e6, 9.99, 0.0, 2.0]),
    "T": np.array([1e6, 1e6, 10.0, 1e6, 1e7]),
    "monetary_value": np.array([12.0, 12.0, 40.0, 0.0, 1e6]),
}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    df = pd.read_csv(CDNOW)
    assert len(df) == 2357 and int((df["x"] > 0).sum()) == 946
    return df


@pytest.fixture(scope="module")
def bgnbd(cdnow) -> clv.ModelFit:
    return clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


@pytest.fixture(scope="module")
def pareto(cdnow) -> clv.ModelFit:
    return clv.fit_pareto_nbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


@pytest.fixture(scope="module")
def gamma_gamma(cdnow) -> clv.ModelFit:
    return clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])


def _assert_params(fit: clv.ModelFit, published: dict[str, float]) -> None:
    assert fit.params.keys() == published.keys()
    for name, value in published.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-3), name


def test_bgnbd_reproduces_published_cdnow_estimates(bgnbd):
    _assert_params(bgnbd, BGNBD)
    assert bgnbd.log_likelihood == pytest.approx(-9582.43, abs=0.01)
    assert (bgnbd.model, bgnbd.n_customers, bgnbd.converged) == ("bgnbd", 2357, True)


def test_pareto_nbd_reproduces_published_cdnow_estimates(pareto):
    _assert_params(pareto, PARETO)
    assert pareto.n_customers == 2357


def test_gamma_gamma_reproduces_published_estimates_on_946_repeat_buyers(gamma_gamma):
    _assert_params(gamma_gamma, GAMMA_GAMMA)
    assert gamma_gamma.n_customers == 946


def test_bgnbd_analytic_gradient_matches_finite_differences(cdnow):
    groups = clv._group(cdnow["x"], cdnow["t_x"], cdnow["T"])

    def objective(p):
        return clv._bgnbd_neg_ll(p, groups, 2357.0)[0]

    h = 1e-5
    for log_params in ([0.0, 0.0, 0.0, 0.0], np.log(list(BGNBD.values())), [1.0, -2.0, 0.5, 3.0]):
        point = np.asarray(log_params, dtype=float)
        central = [
            (objective(point + h * e) - objective(point - h * e)) / (2 * h) for e in np.eye(4)
        ]
        assert clv._bgnbd_neg_ll(point, groups, 2357.0)[1] == pytest.approx(central, abs=1e-6)


def test_grouping_with_weights_equals_fitting_every_row(cdnow, bgnbd):
    grouped = cdnow.groupby(["x", "t_x", "T"], as_index=False).size()
    assert len(grouped) < len(cdnow)
    fit = clv.fit_bgnbd(grouped["x"], grouped["t_x"], grouped["T"], weights=grouped["size"])
    for name, value in bgnbd.params.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-6)
    assert fit.log_likelihood == pytest.approx(bgnbd.log_likelihood, rel=1e-9)
    assert fit.n_customers == 2357


def test_bgnbd_p_alive_and_expected_purchases_by_hand():
    """FHL (2005) eq. (10) and P(alive), with 2F1 summed term by term (not the code's path)."""
    r, alpha, a, b = 0.25, 4.0, 0.8, 2.5
    x, t_x, T, t = 2.0, 30.0, 39.0, 39.0
    fit = clv.ModelFit("bgnbd", {"r": r, "alpha": alpha, "a": a, "b": b}, 0.0, 1, True)

    odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    alive = 1.0 / (1.0 + odds)
    z = t / (alpha + T + t)
    # 2F1(r+x, b+x; a+b+x-1; z) = sum_j (r+x)_j (b+x)_j / ((a+b+x-1)_j j!) z^j
    term, hyp = 1.0, 0.0
    for j in range(400):
        hyp += term
        term *= (r + x + j) * (b + x + j) / ((a + b + x - 1 + j) * (j + 1)) * z
    expected = (
        (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp) * alive
    )
    assert clv.p_alive(fit, x, t_x, T) == pytest.approx(alive, rel=1e-12)
    assert clv.expected_purchases(fit, t, x, t_x, T) == pytest.approx(expected, rel=1e-10)
    assert 0.0 < expected < 10.0  # a plausible count for 2 repeat purchases in 39 weeks


def test_gamma_gamma_expected_spend_by_hand():
    fit = clv.ModelFit("gamma_gamma", {"p": 6.0, "q": 4.0, "gamma": 15.0}, 0.0, 1, True)
    spend = clv.expected_average_spend(fit, [0, 3], [float("nan"), 20.0])
    # x = 0: population mean p*gamma/(q-1); x = 3: p*(gamma + x*z)/(p*x + q - 1)
    assert spend == pytest.approx([6.0 * 15.0 / 3.0, 6.0 * (15.0 + 60.0) / 21.0])


def test_p_alive_of_customer_without_repeat_purchase_is_one(bgnbd):
    assert clv.p_alive(bgnbd, [0, 0], [0.0, 0.0], [1.0, 500.0]) == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("model", ["bgnbd", "pareto"])
def test_predictions_finite_for_extreme_customers(model, bgnbd, pareto, gamma_gamma):
    fit = {"bgnbd": bgnbd, "pareto": pareto}[model]
    e = EXTREME
    with np.errstate(all="raise"):
        alive = clv.p_alive(fit, e["frequency"], e["recency"], e["T"])
        purchases = clv.expected_purchases(fit, 52.0, e["frequency"], e["recency"], e["T"])
        value = clv.clv(fit, gamma_gamma, **e)
    for arr in (alive, purchases, value):
        assert np.isfinite(arr).all() and (arr >= 0).all()
    # 10,000 purchases spread over 1e6 weeks: ~0.01 a week, i.e. ~0.52 in the next 52 weeks
    assert purchases[1] == pytest.approx(10_000 / 1e6 * 52, rel=0.01)
    assert alive[0] < 1e-12  # 10,000 purchases, then silent for a million weeks
    assert purchases[2] > 10_000  # a very active customer seen 10 weeks ago


@pytest.mark.parametrize("model", ["bgnbd", "pareto"])
def test_expected_purchases_increase_with_horizon(model, cdnow, bgnbd, pareto):
    fit = {"bgnbd": bgnbd, "pareto": pareto}[model]
    sample = cdnow.iloc[::50]
    curves = np.array(
        [
            clv.expected_purchases(fit, t, sample["x"], sample["t_x"], sample["T"])
            for t in (0.0, 1.0, 4.0, 13.0, 52.0, 520.0)
        ]
    )
    assert curves[0] == pytest.approx(0.0, abs=1e-12)
    assert (np.diff(curves, axis=0) > 0).all()


def test_clv_discounts_monthly_increments(bgnbd, gamma_gamma):
    x, t_x, T, z = 4.0, 30.0, 39.0, 25.0
    spend = clv.expected_average_spend(gamma_gamma, x, z)
    months = [clv.expected_purchases(bgnbd, m * 365 / 12 / 7, x, t_x, T) for m in range(13)]
    by_hand = sum((months[m] - months[m - 1]) * spend / 1.1 ** (m / 12) for m in range(1, 13))
    assert clv.clv(bgnbd, gamma_gamma, x, t_x, T, z) == pytest.approx(by_hand, rel=1e-12)
    undiscounted = clv.clv(bgnbd, gamma_gamma, x, t_x, T, z, annual_discount_rate=0.0)
    assert undiscounted == pytest.approx(months[12] * spend, rel=1e-12)
    assert by_hand < undiscounted


def _cdnow_summary(cdnow: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": cdnow["ID"],
            "frequency": cdnow["x"],
            "recency_days": cdnow["t_x"] * 7,
            "t_days": cdnow["T"] * 7,
            "monetary_value": cdnow["zbar"],
        }
    )


def test_score_customers_flags_and_excludes_extreme_customers(cdnow, bgnbd, gamma_gamma):
    summary = _cdnow_summary(cdnow)
    summary["items_per_purchase_day"] = 2.0
    reseller = pd.DataFrame(
        [{"customer_id": -1, "frequency": 200, "recency_days": 270, "t_days": 272,
          "monetary_value": 900.0, "items_per_purchase_day": 40.0}]
    )  # fmt: skip
    scores, params = clv.score_customers(
        pd.concat([summary, reseller], ignore_index=True), extreme_frequency_floor=52
    )
    assert list(scores.columns) == [
        "customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
        "expected_purchases_90d", "expected_purchases_365d", "expected_avg_order_value",
        "clv_365d", "is_extreme_customer",
    ]  # fmt: skip
    assert len(scores) == 2358
    # only the reseller passes the 99.9th percentile, the 52-day floor and the bulk rule
    assert scores.loc[scores["is_extreme_customer"], "customer_id"].tolist() == [-1]
    fitted = params.set_index(["model", "parameter"])["value"]
    for name, value in bgnbd.params.items():  # the reseller did not move the fit
        assert fitted["bgnbd", name] == pytest.approx(value, rel=1e-6)
    for name, value in gamma_gamma.params.items():
        assert fitted["gamma_gamma", name] == pytest.approx(value, rel=1e-6)
    assert fitted["extreme_customer_rule", "n_extreme_customers"] == 1
    assert set(params["time_unit"]) == {"week"}
    assert params.loc[params["model"] == "bgnbd", "n_customers"].tolist() == [2357] * 4
    assert params.loc[params["model"] == "bgnbd", "log_likelihood"].iloc[0] == pytest.approx(
        bgnbd.log_likelihood
    )
    numeric = scores.drop(columns=["customer_id", "is_extreme_customer"])
    assert np.isfinite(numeric.to_numpy()).all()
    row = scores.iloc[0]  # customer 1: x=2, t_x=30.43, T=38.86, zbar=22.35
    assert (row["recency"], row["T"]) == pytest.approx((30.43, 38.86))
    assert row["expected_purchases_90d"] < row["expected_purchases_365d"]
    assert row["expected_purchases_365d"] == pytest.approx(
        clv.expected_purchases(bgnbd, 365 / 7, 2, 30.43, 38.86), rel=1e-6
    )
    assert scores["clv_365d"].iloc[-1] > scores["clv_365d"].iloc[:-1].max()


def test_score_customers_pareto_and_bad_input(cdnow, pareto):
    summary = _cdnow_summary(cdnow)
    _, params = clv.score_customers(summary, model="pareto_nbd")
    fitted = params.set_index(["model", "parameter"])["value"]
    assert fitted["pareto_nbd", "s"] == pytest.approx(pareto.params["s"], rel=1e-5)
    with pytest.raises(ValueError, match="unknown model 'gbm'"):
        clv.score_customers(summary, model="gbm")
    with pytest.raises(ValueError, match=r"lacks columns \['t_days'\]"):
        clv.score_customers(summary.drop(columns="t_days"))
    bad = summary.assign(recency_days=summary["recency_days"].where(summary.index != 5, 9999.0))
    with pytest.raises(
        ValueError, match=r"recency_days must not exceed t_days at row 5 \(.*recency_days=9999,"
    ):
        clv.score_customers(bad)


def test_unidentified_fits_raise_clear_errors():
    with pytest.raises(clv.ClvFitError, match="no repeat buyers among 3 customers"):
        clv.fit_bgnbd([0, 0, 0], [0, 0, 0], [5, 6, 7])
    # everybody bought 5 times and is still active: no dropout information at all
    with pytest.raises(clv.ClvFitError, match="bgnbd fit on 100 customers did not converge"):
        clv.fit_bgnbd(np.full(100, 5), np.full(100, 10.0), np.full(100, 10.0))
    with pytest.raises(clv.ClvFitError, match="needs repeat buyers with spend > 0; found 1"):
        clv.fit_gamma_gamma([0, 2, 3], [10.0, 0.0, 5.0])


def _calibration_summary(log: Path, end: str) -> pd.DataFrame:
    """The CLV summary of a CDNOW log up to `end`, by the warehouse's definition (same-day
    purchases merged, frequency = purchase days - 1, days since the first purchase)."""
    orders = pd.read_csv(log, sep=r"\s+", dtype={"customer_id": str, "date": str})
    orders = orders[pd.to_datetime(orders["date"]) <= end]
    days = orders.groupby(["customer_id", "date"], as_index=False).agg(
        items=("number_of_cds", "sum"), spend=("dollar_value", "sum")
    )
    days["date"] = pd.to_datetime(days["date"])
    by = days.groupby("customer_id")
    first, last = by["date"].min(), by["date"].max()
    frequency = by.size() - 1
    first_spend = days.sort_values("date").groupby("customer_id")["spend"].first()
    repeat_spend = by["spend"].sum() - first_spend
    return pd.DataFrame(
        {
            "customer_id": frequency.index,
            "frequency": frequency.to_numpy(),
            "recency_days": (last - first).dt.days.to_numpy(),
            "t_days": (pd.Timestamp(end) - first).dt.days.to_numpy(),
            "monetary_value": (repeat_spend / frequency.where(frequency > 0)).fillna(0).to_numpy(),
            "items_per_purchase_day": by["items"].mean().to_numpy(),
        }
    )


def test_default_rule_keeps_cdnow_heavy_buyers_and_matches_lifetimes():
    """Frequency alone is no evidence of reselling: with defaults nobody of the full CDNOW
    log is left out, and the BG/NBD fit is lifetimes' fit on the same summary."""
    summary = _calibration_summary(CDNOW_MASTER, "1997-09-30")
    assert len(summary) == 23_570
    scores, params = clv.score_customers(summary)
    assert not scores["is_extreme_customer"].any()
    fitted = params.set_index(["model", "parameter"])["value"]
    for name, value in LIFETIMES_FULL_BGNBD.items():
        assert fitted["bgnbd", name] == pytest.approx(value, rel=1e-3)
    assert fitted["extreme_customer_rule", "n_extreme_customers"] == 0
    # The frequency-only rule of before left out the two heaviest buyers (80 and 70 repeat
    # days, 6.8 and 6.0 CDs a day), and its fit strayed from lifetimes' by over 1 %.
    _, frequency_only = clv.score_customers(summary, extreme_min_items_per_day=0)
    strayed = frequency_only.set_index(["model", "parameter"])["value"]
    assert strayed["extreme_customer_rule", "n_extreme_customers"] == 2
    assert max(
        abs(strayed["bgnbd", n] / v - 1) for n, v in LIFETIMES_FULL_BGNBD.items()
    ) == pytest.approx(0.02, abs=0.01)
