"""Benchmark the BG/NBD fit on simulated customers, optionally against `lifetimes`.

    python scripts/bench_clv.py --customers 1000000 [--seed 7] [--lifetimes auto|skip]

Customers follow a seeded BG/NBD process (CDNOW-like parameters, weekly rates) with first
purchases spread over two years before the as-of date; times are whole days, as the warehouse
summary has them. `lifetimes` is an optional, benchmark-only dependency: it is timed only when
importable. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration.ml.clv import _bgnbd_neg_ll, _group, fit_bgnbd

TRUE_PARAMS = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
TIME_UNIT_DAYS = 7.0


def simulate_bgnbd(n: int, seed: int, max_age_days: int = 730):
    """(x, t_x, T) in weeks for n customers drawn from the BG/NBD process, times in whole days.

    Each customer buys at Poisson rate lam ~ Gamma(r, 1/alpha) and drops out after each repeat
    purchase with probability p ~ Beta(a, b), i.e. after D ~ Geometric(p) repeat purchases.
    Given N(T) Poisson arrivals in (0, T], the x-th purchase time is T * Beta(x, N - x + 1).
    """
    rng = np.random.default_rng(seed)
    p = TRUE_PARAMS
    t_days = rng.integers(1, max_age_days + 1, size=n)
    T = t_days / TIME_UNIT_DAYS
    lam = rng.gamma(p["r"], 1.0 / p["alpha"], size=n)
    drop = rng.beta(p["a"], p["b"], size=n)
    arrivals = rng.poisson(lam * T)
    x = np.minimum(arrivals, rng.geometric(drop))
    frac = rng.beta(np.maximum(x, 1), arrivals - x + 1)
    recency_days = np.where(x > 0, np.floor(frac * t_days), 0.0)
    return x.astype(np.float64), recency_days / TIME_UNIT_DAYS, T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lifetimes", choices=("auto", "skip"), default="auto")
    args = parser.parse_args()

    t0 = time.perf_counter()
    x, t_x, T = simulate_bgnbd(args.customers, args.seed)
    t_sim = time.perf_counter() - t0

    t0 = time.perf_counter()
    groups = _group(x, t_x, T)
    t_group = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit = fit_bgnbd(x, t_x, T)
    t_fit = time.perf_counter() - t0

    rows = [("clv.fit_bgnbd (grouping + optimise)", t_fit, fit.params, fit.log_likelihood)]
    note = "lifetimes: skipped"
    if args.lifetimes == "auto":
        try:
            import lifetimes
        except ImportError as exc:
            note = f"lifetimes: not importable ({exc})"
        else:
            t0 = time.perf_counter()
            ref = lifetimes.BetaGeoFitter().fit(x, t_x, T)
            t_ref = time.perf_counter() - t0
            ref_params = {k: float(ref.params_[k]) for k in ("r", "alpha", "a", "b")}
            # lifetimes rescales time internally: score its parameters with our likelihood
            log_params = np.log([ref_params[k] for k in ("r", "alpha", "a", "b")])
            ref_ll = -float(_bgnbd_neg_ll(log_params, groups, 1.0)[0])
            rows.append(
                (f"lifetimes {lifetimes.__version__} BetaGeoFitter.fit", t_ref, ref_params, ref_ll)
            )
            note = "lifetimes: timed on the same (x, t_x, T)"

    print(
        f"BG/NBD fit on {args.customers:,} simulated customers (seed {args.seed}; "
        f"{groups.count.size:,} distinct (x, t_x, T); simulation {t_sim:.2f} s; "
        f"grouping alone {t_group:.3f} s; {note})\n"
    )
    print("| implementation | fit time (s) | r | alpha | a | b | log-likelihood |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("| true parameters | | " + " | ".join(f"{v:.4f}" for v in TRUE_PARAMS.values()) + " | |")
    for name, seconds, params, ll in rows:
        values = " | ".join(f"{params[k]:.4f}" for k in ("r", "alpha", "a", "b"))
        print(f"| {name} | {seconds:.3f} | {values} | {ll:,.1f} |")


if __name__ == "__main__":
    main()
