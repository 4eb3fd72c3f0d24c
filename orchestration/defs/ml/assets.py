"""Customer lifetime value and churn risk: thin Dagster wrappers around orchestration/ml.

They run after the dbt feature models and before the marts that join their output
(dbt_customer_marts). Each writes its rows for the run's as-of date (the metrics for
the run), so a rerun replaces them.
"""

import time
from pathlib import Path

import dagster as dg
import joblib

from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from orchestration.lib.settings import CLV_MODELS
from orchestration.ml.churn import (
    MAX_CALIBRATION_ERROR,
    InsufficientHistoryError,
    score,
    train_and_evaluate,
    training_fingerprint,
)
from orchestration.ml.clv import ClvFitError, score_customers
from orchestration.ml.features import add_bgnbd_expectation
from orchestration.ml.tables import SNAPSHOT_ORDER, read_table, replace_rows

SUMMARIES = dg.AssetKey(["features", "customer_purchase_summaries"])
CHURN_FEATURES = dg.AssetKey(["features", "customer_churn_features"])
CUSTOMER_CLV = dg.AssetKey(["ml", "customer_clv"])
CLV_PARAMS = dg.AssetKey(["ml", "clv_model_params"])
CUSTOMER_CHURN = dg.AssetKey(["ml", "customer_churn"])
CHURN_METRICS = dg.AssetKey(["ml", "churn_model_metrics"])
CHURN_SEED = 42


def _table(key: dg.AssetKey) -> str:
    """Asset keys mirror the warehouse: schema/table."""
    return ".".join(key.path)


class ClvConfig(dg.Config):
    """Overrides of CLV_MODEL and CLV_ANNUAL_DISCOUNT_RATE for one run."""

    model: str | None = None
    annual_discount_rate: float | None = None


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CUSTOMER_CLV,
            deps=[SUMMARIES],
            description="Per customer: BG/NBD (or Pareto/NBD) p_alive and expected purchases, "
            "Gamma-Gamma expected spend, 365-day discounted CLV.",
            kinds={"python", "duckdb"},
        ),
        dg.AssetSpec(
            CLV_PARAMS,
            deps=[SUMMARIES],
            description="Fitted CLV model parameters and log-likelihood per as-of date.",
            kinds={"python", "duckdb"},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "models_fitted",
            asset=CLV_PARAMS,
            description="The purchase and spend models converged (warning only: without a fit "
            "the run writes no CLV and goes on).",
        )
    ],
    group_name="ml",
    pool=WAREHOUSE_POOL,
)
def clv_models(
    context: dg.AssetExecutionContext,
    config: ClvConfig,
    settings: SettingsResource,
    warehouse: WarehouseResource,
):
    as_of = settings.scope(context).as_of_date
    settings = settings.settings
    model = config.model or settings.clv_model
    if model not in CLV_MODELS:
        raise dg.Failure(f"CLV model {model!r} is not one of {', '.join(CLV_MODELS)}")
    rate = (
        settings.clv_annual_discount_rate
        if config.annual_discount_rate is None
        else config.annual_discount_rate
    )
    with warehouse.connect() as con:
        summaries = read_table(con, _table(SUMMARIES), SNAPSHOT_ORDER)
        summaries = summaries[summaries["snapshot_role"] == "scoring"]
        started = time.perf_counter()
        try:
            scores, params = score_customers(summaries, model=model, annual_discount_rate=rate)
        except ClvFitError as exc:
            # Too little history (e.g. no repeat buyer yet): no CLV rather than a wrong one.
            for key in (CUSTOMER_CLV, CLV_PARAMS):
                replace_rows(con, _table(key), None, {"as_of_date": as_of})
            message = f"no CLV this run: {exc}"
            context.log.warning(message)
            yield dg.MaterializeResult(asset_key=CUSTOMER_CLV, metadata={"verdict": message})
            yield dg.MaterializeResult(asset_key=CLV_PARAMS, metadata={"verdict": message})
            yield _fitted_check(False, message)
            return
        seconds = time.perf_counter() - started
        scores = scores.assign(as_of_date=as_of, model=model)
        params = params.assign(as_of_date=as_of)
        replace_rows(con, _table(CUSTOMER_CLV), scores, {"as_of_date": as_of})
        replace_rows(con, _table(CLV_PARAMS), params, {"as_of_date": as_of})
    context.log.info(f"{model} + Gamma-Gamma on {len(scores):,} customers in {seconds:.2f} s")
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_CLV,
        metadata={
            "as_of_date": as_of.isoformat(),
            "model": model,
            "customers": len(scores),
            "extreme_customers": int(scores["is_extreme_customer"].sum()),
            "total_clv_365d": float(scores["clv_365d"].sum()),
            "mean_p_alive": float(scores["p_alive"].mean()) if len(scores) else None,
            "fit_and_score_seconds": round(seconds, 3),
        },
    )
    yield dg.MaterializeResult(
        asset_key=CLV_PARAMS,
        metadata={"parameters": dg.MetadataValue.md(params.to_markdown(index=False))},
    )
    yield _fitted_check(True, f"{model} and Gamma-Gamma fitted on {len(scores):,} customers")


def _fitted_check(passed: bool, verdict: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=CLV_PARAMS,
        check_name="models_fitted",
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"verdict": verdict},
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CUSTOMER_CHURN,
            deps=[CHURN_FEATURES, SUMMARIES],
            description="Per customer: probability of no purchase in the churn horizon, risk "
            "tier and top drivers, from a gradient-boosted model trained on past snapshots.",
            kinds={"python", "duckdb"},
        ),
        dg.AssetSpec(
            CHURN_METRICS,
            deps=[CHURN_FEATURES, SUMMARIES],
            description="Validation metrics of the churn model and its two baselines, per run.",
            kinds={"python", "duckdb"},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "beats_baselines",
            asset=CHURN_METRICS,
            description="The model's ROC AUC and PR AUC beat both baselines on the validation "
            "snapshot (warning only: the scores are still written, with their metrics).",
        ),
        dg.AssetCheckSpec(
            "calibrated",
            asset=CHURN_METRICS,
            description="The model's expected calibration error on the validation snapshot "
            f"is at most {MAX_CALIBRATION_ERROR} (warning only, like beats_baselines).",
        ),
    ],
    group_name="ml",
    pool=WAREHOUSE_POOL,
)
def churn_model(
    context: dg.AssetExecutionContext, settings: SettingsResource, warehouse: WarehouseResource
):
    as_of = settings.scope(context).as_of_date
    settings = settings.settings
    horizon = settings.churn_horizon_days
    with warehouse.connect() as con:
        features = read_table(con, _table(CHURN_FEATURES), SNAPSHOT_ORDER)
        summaries = read_table(con, _table(SUMMARIES), SNAPSHOT_ORDER)
        labelled = features["snapshot_role"] != "scoring"
        labelled_summaries = summaries["snapshot_role"] != "scoring"
        fingerprint = training_fingerprint(
            features[labelled],
            summaries[labelled_summaries],
            horizon_days=horizon,
            seed=CHURN_SEED,
            max_training_rows=settings.churn_max_training_rows,
        )
        fit_path = _fit_path(settings.warehouse_dir, fingerprint)
        reused = fit_path.exists()
        if reused:
            evaluation = joblib.load(fit_path)
        else:
            try:
                evaluation = train_and_evaluate(
                    add_bgnbd_expectation(
                        features[labelled],
                        summaries[labelled_summaries],
                        horizon_days=horizon,
                    ),
                    horizon_days=horizon,
                    seed=CHURN_SEED,
                    max_training_rows=settings.churn_max_training_rows,
                )
            except InsufficientHistoryError as exc:
                # A young warehouse: no scores rather than scores from a model nobody
                # validated.
                replace_rows(con, _table(CUSTOMER_CHURN), None, {"as_of_date": as_of})
                yield from _no_churn_model(context, str(exc), horizon)
                return
            _store_fit(fit_path, evaluation)
        scoring_rows = add_bgnbd_expectation(
            features[~labelled], summaries[~labelled_summaries], horizon_days=horizon
        )
        scores = score(evaluation, scoring_rows)
        metrics = evaluation.metrics.assign(
            run_id=context.run.run_id,
            as_of_date=as_of,
            horizon_days=horizon,
            beats_baselines=evaluation.beats_baselines,
        )
        replace_rows(con, _table(CUSTOMER_CHURN), scores, {"as_of_date": as_of})
        replace_rows(con, _table(CHURN_METRICS), metrics, {"run_id": context.run.run_id})
    fit = "reused (labelled snapshots unchanged)" if reused else "fitted"
    context.log.info(f"churn model {fit}: {fit_path.name}")
    for passed, message in (
        (evaluation.beats_baselines, evaluation.message),
        (evaluation.is_calibrated, evaluation.calibration_message),
    ):
        if not passed:
            context.log.warning(message)
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_CHURN,
        metadata={
            "as_of_date": as_of.isoformat(),
            "horizon_days": horizon,
            "customers": len(scores),
            "risk_tiers": dg.MetadataValue.json(scores["risk_tier"].value_counts().to_dict()),
            "model_path": dg.MetadataValue.path(str(fit_path)),
            "model_fit": fit,
            "top_features": dg.MetadataValue.md(
                evaluation.feature_importances.head(10).to_markdown(index=False)
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=CHURN_METRICS,
        metadata={
            "metrics": dg.MetadataValue.md(evaluation.metrics.to_markdown(index=False)),
            "beats_baselines": evaluation.beats_baselines,
            "verdict": evaluation.message,
            "calibration": dg.MetadataValue.md(
                evaluation.calibration.to_markdown(index=False, floatfmt=".4f")
            ),
        },
    )
    yield _warning_check("beats_baselines", evaluation.beats_baselines, evaluation.message)
    yield _warning_check("calibrated", evaluation.is_calibrated, evaluation.calibration_message)


def _no_churn_model(context: dg.AssetExecutionContext, reason: str, horizon: int):
    message = f"no churn model this run: {reason} (horizon {horizon} days)"
    context.log.warning(message)
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_CHURN, metadata={"customers": 0, "verdict": message}
    )
    yield dg.MaterializeResult(asset_key=CHURN_METRICS, metadata={"verdict": message})
    for check_name in ("beats_baselines", "calibrated"):
        yield _warning_check(check_name, False, message)


def _warning_check(check_name: str, passed: bool, verdict: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=CHURN_METRICS,
        check_name=check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"verdict": verdict},
    )


def _fit_path(warehouse_dir: Path, fingerprint: str) -> Path:
    """Where the fit of these labelled snapshots is kept, next to the warehouse."""
    return warehouse_dir / "models" / "churn" / f"{fingerprint}.joblib"


def _store_fit(path: Path, evaluation) -> None:
    """Written to a temporary name first: a killed run leaves no half-written fit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    joblib.dump(evaluation, partial)
    partial.replace(path)
