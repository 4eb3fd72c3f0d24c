"""Customer lifetime value math: BG/NBD, Pareto/NBD and Gamma-Gamma.

Plain, vectorised numpy/scipy functions; the Dagster assets are thin wrappers around
`score_customers`. Notation follows Fader & Hardie: x = repeat purchases (here: repeat
purchase days), t_x = time of the last purchase after the first one (recency), T = time from
the first purchase to the as-of date, all in one time unit (weeks by default).

References
- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way".
- Pareto/NBD: Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
  Expressions", eq. (18)-(22).
- Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value".

Likelihoods are fitted on grouped sufficient statistics (distinct (x, t_x, T) with counts) over
log-parameters with L-BFGS-B; every term is evaluated in log space (gammaln, betaln, softplus /
expit of log-odds) so very large x and long silences give finite values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

MODELS = ("bgnbd", "pareto_nbd")
DAYS_PER_YEAR = 365.0
_LOG_BOUND = 15.0  # |log parameter| bound: keeps exp() finite while the optimiser explores


class ClvFitError(RuntimeError):
    """A model could not be fitted (bad input or no convergence)."""


@dataclass(frozen=True)
class ModelFit:
    """A fitted model: parameters, maximised log-likelihood and the customers (rows, or the sum
    of weights) it was fitted on. Fits that fail raise ClvFitError, so `converged` is True."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    converged: bool


@dataclass(frozen=True)
class _Groups:
    """Distinct (x, t_x, T) rows with counts, plus indices into the distinct x and time values.

    Terms depending only on x (gamma/beta functions) are evaluated once per distinct x and
    terms depending only on a time (log(alpha + t)) once per distinct time, then gathered.
    """

    ux: np.ndarray  # distinct x
    ut: np.ndarray  # distinct times (t_x and T together)
    gx: np.ndarray  # per group: index into ux
    gtx: np.ndarray  # per group: index into ut of t_x
    gT: np.ndarray  # per group: index into ut of T
    count: np.ndarray  # per group: (weighted) number of customers
    n_x: np.ndarray  # per distinct x: (weighted) number of customers
    n_customers: int
    row_group: np.ndarray  # per input row: its group

    @property
    def x(self) -> np.ndarray:
        return self.ux[self.gx]

    @property
    def t_x(self) -> np.ndarray:
        return self.ut[self.gtx]

    @property
    def T(self) -> np.ndarray:
        return self.ut[self.gT]


def _as_float(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: non-finite value {arr.flat[i]} at row {i}")
    return arr


def _first_bad(mask: np.ndarray, message: str, *cols: tuple[str, np.ndarray]) -> None:
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        values = ", ".join(f"{n}={float(c.flat[i]):.10g}" for n, c in cols)
        raise ValueError(f"{message} at row {i} ({values}); {int(mask.sum())} rows affected")


def _summary_arrays(frequency, recency, T, names=("frequency", "recency", "T")):
    """Validated, broadcast float arrays; `names` are used in error messages."""
    x, t_x, T = (_as_float(n, v) for n, v in zip(names, (frequency, recency, T), strict=True))
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    cols = tuple(zip(names, (x, t_x, T), strict=True))
    _first_bad((x < 0) | (t_x < 0), f"{names[0]} and {names[1]} must be >= 0", *cols)
    _first_bad(t_x > T, f"{names[1]} must not exceed {names[2]}", *cols)
    _first_bad((x > 0) & (T <= 0), f"{names[2]} must be > 0 for repeat buyers", *cols)
    return x, t_x, T


def _group(frequency, recency, T, weights=None) -> _Groups:
    """Group rows by distinct (x, t_x, T) with hash factorisation (O(n), no sort)."""
    x, t_x, T = (a.ravel() for a in _summary_arrays(frequency, recency, T))
    n = x.size
    if not (x > 0).any():
        raise ClvFitError(f"no repeat buyers among {n} customers: cannot fit a purchase model")
    ix, ux = pd.factorize(x)
    it, ut = pd.factorize(np.concatenate([t_x, T]))
    itx, iT = it[:n].astype(np.int64), it[n:].astype(np.int64)
    pair, _ = pd.factorize(ix.astype(np.int64) * ut.size + itx)  # keys stay far below 2**63
    codes, _ = pd.factorize(pair.astype(np.int64) * ut.size + iT)
    rep = np.empty(codes.max() + 1, dtype=np.int64)
    rep[codes] = np.arange(n)  # one representative row per group
    if weights is None:
        count = np.bincount(codes, minlength=rep.size).astype(np.float64)
    else:
        w = np.broadcast_to(_as_float("weights", weights), (n,))
        _first_bad(w < 0, "weights must be >= 0", ("weights", w))
        count = np.bincount(codes, weights=w, minlength=rep.size)
    gx = ix[rep]
    return _Groups(
        ux=np.asarray(ux, dtype=np.float64),
        ut=np.asarray(ut, dtype=np.float64),
        gx=gx,
        gtx=itx[rep],
        gT=iT[rep],
        count=count,
        n_x=np.bincount(gx, weights=count, minlength=ux.size),
        n_customers=n if weights is None else round(float(count.sum())),
        row_group=codes,
    )


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """1-D dot product via einsum: BLAS ddot's threads stall on a busy 2-core machine."""
    return float(np.einsum("i,i->", u, v))


_GRADIENT_TOLERANCE = 1e-6  # on the per-customer log-likelihood


def _optimise(
    model: str, names: tuple[str, ...], neg_ll, *, n_customers: int, scale: float, jac
) -> ModelFit:
    """Minimise the negative log-likelihood divided by `scale` (the total customer weight, so
    tolerances do not depend on data size) over log-parameters."""
    # One BLAS thread: on a 2-core machine OpenBLAS's spinning workers halve the speed of the
    # numpy work between L-BFGS-B steps. Non-finite trial points are rejected by the checks
    # below, so their floating-point warnings are noise.
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(invalid="ignore", over="ignore"):
        res = minimize(
            neg_ll,
            np.zeros(len(names)),
            jac=jac,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(names),
            options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
        )
    value = float(res.fun)
    # With these tight tolerances L-BFGS-B can end its line search ("ABNORMAL") at the
    # optimum itself; a vanishing gradient is convergence all the same.
    at_optimum = res.success or np.max(np.abs(res.jac)) < _GRADIENT_TOLERANCE
    if not at_optimum or not np.isfinite(value):
        raise ClvFitError(
            f"{model} fit did not converge on {n_customers} customers: {res.message} "
            f"(log-params {np.round(res.x, 4).tolist()}, objective {value})"
        )
    params = dict(zip(names, np.exp(res.x).tolist(), strict=True))
    stuck = [n for n, v in zip(names, res.x, strict=True) if abs(v) > _LOG_BOUND - 1e-3]
    if stuck:
        raise ClvFitError(
            f"{model} fit on {n_customers} customers did not converge: {stuck} ran to the "
            f"bound exp(+-{_LOG_BOUND:g}) ({params}); the data does not identify the model"
        )
    return ModelFit(model, params, -float(value) * scale, n_customers, True)


# --------------------------------------------------------------------------- BG/NBD


def _bgnbd_neg_ll(logp: np.ndarray, g: _Groups, scale: float):
    """Negative log-likelihood per customer and its analytic gradient in log-parameters.

    LL = A1 + log(exp(A2) + [x > 0] exp(A3)) with
      A1 = lnG(r+x) - lnG(r) + r ln(alpha)
      A2 = lnB(a, b+x) - lnB(a, b) - (r+x) ln(alpha+T)
      A3 = lnB(a+1, b+x-1) - lnB(a, b) - (r+x) ln(alpha+t_x)
    """
    r, alpha, a, b = np.exp(logp)
    ux, pos, gx, c = g.ux, g.ux > 0, g.gx, g.count
    rx = r + ux
    bab = betaln(a, b)
    lg = gammaln(rx) - gammaln(r) + r * np.log(alpha)
    b2 = betaln(a, b + ux) - bab
    b3 = np.where(pos, betaln(a + 1.0, b + np.maximum(ux, 1.0) - 1.0) - bab, -np.inf)
    lt = np.log(alpha + g.ut)
    inv = 1.0 / (alpha + g.ut)

    # per group: LL - A1 = A2 + softplus(d), d = A3 - A2 (-inf when x = 0)
    ltT, rxg = lt[g.gT], rx[gx]
    dlt = lt[g.gtx] - ltT
    d = (b3 - b2)[gx] - rxg * dlt
    w3 = expit(d)  # posterior probability of "dropped out after the last purchase"
    softplus = np.maximum(d, 0.0) + np.log1p(np.exp(-np.abs(d)))
    ll = _dot(g.n_x, lg + b2) - _dot(c, rxg * ltT) + _dot(c, softplus)

    cw3 = c * w3
    s3x = np.bincount(gx, weights=cw3, minlength=ux.size)
    dig_abx = digamma(a + b + ux)
    dab = digamma(a + b)
    d_r = _dot(g.n_x, digamma(rx) - digamma(r) + np.log(alpha)) - _dot(c, ltT) - _dot(cw3, dlt)
    invT = inv[g.gT]
    d_alpha = g.n_x.sum() * r / alpha - _dot(c * rxg, invT) - _dot(cw3 * rxg, inv[g.gtx] - invT)
    d_a = _dot(g.n_x, dab - dig_abx) + s3x.sum() / a
    d_b = _dot(g.n_x, dab - dig_abx - digamma(b) + digamma(b + ux)) - _dot(
        s3x, np.where(pos, 1.0 / (b + ux - 1.0 + ~pos), 0.0)
    )
    grad = np.array([d_r, d_alpha, d_a, d_b]) * np.array([r, alpha, a, b])
    return -ll / scale, -grad / scale


def fit_bgnbd(frequency, recency, T, *, weights=None) -> ModelFit:
    """Maximum-likelihood BG/NBD fit (params r, alpha, a, b) on grouped (x, t_x, T).

    `weights` (optional) counts each row that many times, e.g. for pre-aggregated data.
    """
    g = _group(frequency, recency, T, weights)
    scale = float(g.count.sum())
    return _optimise(
        "bgnbd",
        ("r", "alpha", "a", "b"),
        lambda p: _bgnbd_neg_ll(p, g, scale),
        n_customers=g.n_customers,
        scale=scale,
        jac=True,
    )


# ----------------------------------------------------------------------- Pareto/NBD


def _pareto_log_a0(r, alpha, s, beta, x, t_x, T):
    """log A0 of Fader-Hardie (2005) eq. (19)/(20), choosing the branch with z in [0, 1).

    A0 = F(t_x) - F(T) with F decreasing in t, so log A0 = u1 + log1p(-exp(u2 - u1)).
    """
    rsx = r + s + x
    if alpha >= beta:
        hi, second = alpha, s + 1.0
    else:
        hi, second = beta, r + x
    diff = abs(alpha - beta)

    def log_f(t):
        return np.log(hyp2f1(rsx, second, rsx + 1.0, diff / (hi + t))) - rsx * np.log(hi + t)

    u1, u2 = log_f(t_x), log_f(T)
    with np.errstate(divide="ignore"):
        return u1 + np.log1p(-np.exp(np.minimum(u2 - u1, 0.0)))


def _pareto_terms(params: dict[str, float], x, t_x, T):
    """Per customer: (log-likelihood, log-odds of having dropped out by T)."""
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) - np.log(r + s + x) + _pareto_log_a0(r, alpha, s, beta, x, t_x, T)
    return a1 + np.logaddexp(alive, dead), dead - alive


def fit_pareto_nbd(frequency, recency, T, *, weights=None) -> ModelFit:
    """Maximum-likelihood Pareto/NBD fit (params r, alpha, s, beta) on grouped (x, t_x, T).

    The gradient is a central finite difference of the log-space likelihood (2F1 has no
    cheap parameter derivative); the likelihood is only evaluated once per distinct row.
    """
    g = _group(frequency, recency, T, weights)
    x, t_x, Tg = g.x, g.t_x, g.T
    scale = float(g.count.sum())
    names = ("r", "alpha", "s", "beta")

    def neg_ll(logp):
        ll, _ = _pareto_terms(dict(zip(names, np.exp(logp), strict=True)), x, t_x, Tg)
        return -_dot(g.count, ll) / scale

    return _optimise(
        "pareto_nbd", names, neg_ll, n_customers=g.n_customers, scale=scale, jac="3-point"
    )


# ----------------------------------------------------------------------- Gamma-Gamma


def _gg_neg_ll(logp, x, z, scale):
    """Gamma-Gamma negative log-likelihood per customer (x repeat purchases, mean spend z)."""
    p, q, gamma = np.exp(logp)
    px = p * x
    lgz = np.log(gamma + x * z)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(z)
        + px * np.log(x)
        - (px + q) * lgz
    ).sum()
    dpq = digamma(px + q)
    d_p = _dot(x, dpq - digamma(px) + np.log(z) + np.log(x) - lgz)
    d_q = (dpq - digamma(q) + np.log(gamma) - lgz).sum()
    d_gamma = x.size * q / gamma - ((px + q) / (gamma + x * z)).sum()
    grad = np.array([d_p, d_q, d_gamma]) * np.array([p, q, gamma])
    return -ll / scale, -grad / scale


def fit_gamma_gamma(frequency, monetary_value) -> ModelFit:
    """Gamma-Gamma spend model (params p, q, gamma) on repeat buyers with positive spend.

    `monetary_value` is the mean spend per repeat purchase; other rows are ignored. q must
    come out > 1 for the expected spend to exist.
    """
    x = _as_float("frequency", frequency)
    z = _as_float("monetary_value", monetary_value)
    keep = (x > 0) & (z > 0)
    x, z = x[keep], z[keep]
    if x.size < 3:
        raise ClvFitError(f"gamma_gamma needs repeat buyers with spend > 0; found {x.size}")
    fit = _optimise(
        "gamma_gamma",
        ("p", "q", "gamma"),
        lambda lp: _gg_neg_ll(lp, x, z, x.size),
        n_customers=x.size,
        scale=x.size,
        jac=True,
    )
    if fit.params["q"] <= 1.0:
        raise ClvFitError(f"gamma_gamma fit has q={fit.params['q']:.4g} <= 1: mean spend undefined")
    return fit


# ----------------------------------------------------------------------- predictions


def _bgnbd_log_dead_odds(params, x, t_x, T):
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    xs = np.maximum(x, 1.0)
    odds = np.log(a) - np.log(b + xs - 1.0) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, odds, -np.inf)


def p_alive(fit: ModelFit, frequency, recency, T) -> np.ndarray:
    """Probability each customer is still active at T (1 for x = 0 under BG/NBD)."""
    x, t_x, T = _summary_arrays(frequency, recency, T)
    if fit.model == "bgnbd":
        return expit(-_bgnbd_log_dead_odds(fit.params, x, t_x, T))
    if fit.model == "pareto_nbd":
        return expit(-_pareto_terms(fit.params, x, t_x, T)[1])
    raise ValueError(f"p_alive: unknown model {fit.model!r}; expected one of {MODELS}")


def expected_purchases(fit: ModelFit, t, frequency, recency, T) -> np.ndarray:
    """Conditional expected number of purchases in (T, T + t] given (x, t_x, T).

    BG/NBD (FHL 2005 eq. 10) uses Euler's transformation of its 2F1 so that the large
    exponent (r + x) cancels: ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)
    = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), z = t/(alpha+T+t).
    """
    x, t_x, T = _summary_arrays(frequency, recency, T)
    t = _as_float("t", t)
    alive = p_alive(fit, x, t_x, T)
    if fit.model == "bgnbd":
        r, alpha, a, b = (fit.params[k] for k in ("r", "alpha", "a", "b"))
        log1mz = np.log(alpha + T) - np.log(alpha + T + t)
        z = -np.expm1(log1mz)
        f = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        bracket = 1.0 - np.exp((a - 1.0) * log1mz) * f
        return (a + b + x - 1.0) / (a - 1.0) * bracket * alive
    r, alpha, s, beta = (fit.params[k] for k in ("r", "alpha", "s", "beta"))
    lg = np.log1p(t / (beta + T))
    # (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1), with its s -> 1 limit
    g = lg if abs(s - 1.0) < 1e-10 else -np.expm1(-(s - 1.0) * lg) / (s - 1.0)
    return alive * (r + x) * (beta + T) / (alpha + T) * g


def expected_average_spend(gg_fit: ModelFit, frequency, monetary_value) -> np.ndarray:
    """Gamma-Gamma posterior mean spend per purchase: a weighted average of the population
    mean p*gamma/(q-1) and the customer's own mean; customers with x = 0 get the population
    mean."""
    p, q, gamma = (gg_fit.params[k] for k in ("p", "q", "gamma"))
    x = _as_float("frequency", frequency)
    z = np.where(x > 0, _as_float("monetary_value", np.nan_to_num(monetary_value)), 0.0)
    return p * (gamma + x * z) / (p * x + q - 1.0)


def discounted_purchases(
    fit: ModelFit,
    frequency,
    recency,
    T,
    *,
    horizon_days: float = 365.0,
    time_unit_days: float = 7.0,
    annual_discount_rate: float = 0.10,
) -> np.ndarray:
    """Expected purchases over the horizon, each discounted to today (see `clv`)."""
    n = max(1, round(12.0 * horizon_days / DAYS_PER_YEAR))
    step_days = horizon_days / n
    total = np.zeros(np.broadcast(np.asarray(frequency), np.asarray(T)).shape)
    previous = 0.0
    for m in range(1, n + 1):
        cum = expected_purchases(fit, m * step_days / time_unit_days, frequency, recency, T)
        total += (cum - previous) / (1.0 + annual_discount_rate) ** (m * step_days / DAYS_PER_YEAR)
        previous = cum
    return total


def clv(
    fit: ModelFit,
    gg_fit: ModelFit,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    horizon_days: float = 365.0,
    time_unit_days: float = 7.0,
    annual_discount_rate: float = 0.10,
) -> np.ndarray:
    """Discounted expected spend over the horizon.

    The horizon is cut into n = round(12 * horizon_days / 365) equal steps (months for 365
    days). With E(t) the conditional expected purchases by time t after T and S the Gamma-Gamma
    expected spend per purchase:

        CLV = sum_{m=1..n} [E(t_m) - E(t_{m-1})] * S / (1 + d) ** (t_m / 365 days)

    i.e. each month's incremental expected purchases valued at S and discounted at the annual
    rate d from the month's end (month m of 12: 1/(1+d)^(m/12)). It is revenue, not margin.
    """
    purchases = discounted_purchases(
        fit,
        frequency,
        recency,
        T,
        horizon_days=horizon_days,
        time_unit_days=time_unit_days,
        annual_discount_rate=annual_discount_rate,
    )
    return purchases * expected_average_spend(gg_fit, frequency, monetary_value)


# ------------------------------------------------------------------------ scoring

SUMMARY_COLUMNS = ("customer_id", "frequency", "recency_days", "t_days", "monetary_value")
_FITTERS = {"bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd}
_UNIT_NAMES = {1: "day", 7: "week"}


def extreme_customers(
    frequency, items_per_purchase_day, *, quantile: float, floor: float, min_items: float
) -> tuple[np.ndarray, float]:
    """Flag customers whose frequency is above the `quantile` of repeat buyers' frequencies
    AND at least `floor` AND who buy at least `min_items` items per purchase day (no
    item count, no evidence: never flagged); returns (flags, the quantile threshold)."""
    x = _as_float("frequency", frequency)
    items = np.asarray(items_per_purchase_day, dtype=np.float64)
    repeat = x[x > 0]
    threshold = float(np.quantile(repeat, quantile)) if repeat.size else np.inf
    bulk = np.nan_to_num(items, nan=-np.inf) >= min_items
    return (x > threshold) & (x >= floor) & bulk, threshold


def score_customers(
    summary: pd.DataFrame,
    *,
    model: str = "bgnbd",
    time_unit_days: float = 7,
    annual_discount_rate: float = 0.10,
    extreme_frequency_quantile: float = 0.999,
    extreme_frequency_floor: float = 52,
    extreme_min_items_per_day: float = 20,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit the purchase model and Gamma-Gamma on `summary` and score every customer.

    `summary` has one row per customer: customer_id, frequency (repeat purchase days),
    recency_days (first to last purchase), t_days (first purchase to as-of date) and
    monetary_value (mean spend per repeat purchase day; ignored when frequency = 0), and
    optionally items_per_purchase_day (mean items bought per purchase day, null if unknown).

    Extreme-customer rule (resellers, B2B buyers), on evidence of reselling only: a customer
    is extreme when their frequency is ABOVE the `extreme_frequency_quantile` (default 99.9th
    percentile) of repeat buyers' frequencies AND at least `extreme_frequency_floor` (default
    52 repeat purchase days, more than weekly for a year) AND they buy in bulk, at least
    `extreme_min_items_per_day` items per purchase day (default 20; a customer without item
    counts is never extreme). Frequency alone is no evidence: a heavy consumer is what the
    purchase model's heterogeneity is for, and leaving CDNOW's two heaviest buyers (81 and 71
    purchase days, about 6 CDs a day) out moved its BG/NBD parameters by up to 2 %.
    Extreme customers are LEFT OUT of both fits so they do not distort the population
    parameters, but they are still scored with those parameters and flagged
    `is_extreme_customer`; the thresholds and count go into the params table (model
    "extreme_customer_rule").

    Returns (scores, params). Times in scores are in model time units (weeks by default);
    params has model, parameter, value, time_unit, log_likelihood, n_customers.
    """
    if model not in _FITTERS:
        raise ValueError(f"score_customers: unknown model {model!r}; expected one of {MODELS}")
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"score_customers: summary lacks columns {missing}")
    x, recency_days, t_days = _summary_arrays(
        summary["frequency"], summary["recency_days"], summary["t_days"], SUMMARY_COLUMNS[1:4]
    )
    t_x, T = recency_days / time_unit_days, t_days / time_unit_days
    spend = np.nan_to_num(summary["monetary_value"].to_numpy(dtype=np.float64, na_value=np.nan))

    items = (
        summary["items_per_purchase_day"].to_numpy(dtype=np.float64, na_value=np.nan)
        if "items_per_purchase_day" in summary.columns
        else np.full(x.size, np.nan)
    )
    extreme, threshold = extreme_customers(
        x,
        items,
        quantile=extreme_frequency_quantile,
        floor=extreme_frequency_floor,
        min_items=extreme_min_items_per_day,
    )
    keep = ~extreme
    fit = _FITTERS[model](x[keep], t_x[keep], T[keep])
    gg = fit_gamma_gamma(x[keep], spend[keep])

    # purchase predictions depend on (x, t_x, T) only: compute once per distinct row
    g = _group(x, t_x, T)
    gx, gtx, gT, back = g.x, g.t_x, g.T, g.row_group

    def purchases(days):
        return expected_purchases(fit, days / time_unit_days, gx, gtx, gT)[back]

    discounted = discounted_purchases(
        fit,
        gx,
        gtx,
        gT,
        horizon_days=365.0,
        time_unit_days=time_unit_days,
        annual_discount_rate=annual_discount_rate,
    )[back]
    avg_spend = expected_average_spend(gg, x, spend)
    scores = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "frequency": x,
            "recency": t_x,
            "T": T,
            "monetary_value": spend,
            "p_alive": p_alive(fit, gx, gtx, gT)[back],
            "expected_purchases_90d": purchases(90.0),
            "expected_purchases_365d": purchases(365.0),
            "expected_avg_order_value": avg_spend,
            "clv_365d": discounted * avg_spend,
            "is_extreme_customer": extreme,
        }
    )
    unit = _UNIT_NAMES.get(time_unit_days, f"{time_unit_days:g} days")
    rows = [
        (f.model, name, value, unit, f.log_likelihood, f.n_customers)
        for f in (fit, gg)
        for name, value in f.params.items()
    ]
    rule = "extreme_customer_rule"
    rows += [
        (rule, "frequency_quantile", extreme_frequency_quantile, unit, np.nan, x.size),
        (rule, "frequency_floor", float(extreme_frequency_floor), unit, np.nan, x.size),
        (rule, "frequency_threshold", threshold, unit, np.nan, x.size),
        (rule, "min_items_per_purchase_day", extreme_min_items_per_day, unit, np.nan, x.size),
        (rule, "n_extreme_customers", float(extreme.sum()), unit, np.nan, x.size),
    ]
    params = pd.DataFrame(
        rows, columns=["model", "parameter", "value", "time_unit", "log_likelihood", "n_customers"]
    )
    return scores, params
