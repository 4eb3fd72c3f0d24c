"""Churn model math: metrics, time-split training with baselines, and scoring.

Input is the dbt features table (`features.customer_churn_features`) as a pandas DataFrame:
one row per customer x snapshot date, with `snapshot_role` in training/validation/scoring,
the label `is_churned` (no purchase in the `horizon_days` after the snapshot date; null on
scoring rows) and numeric features. Every column that is not an id/date/role/label column is a
feature; nulls are allowed (the gradient-boosted model handles NaN natively), booleans become
0/1. Plain functions, no I/O: the Dagster assets are thin wrappers around them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from orchestration.lib.settings import Settings

ID_COLUMNS = ("customer_id", "snapshot_date", "snapshot_role", "is_churned")
# Carried by the features table but the same on every row: not a feature.
SETTING_COLUMNS = ("horizon_days",)
RECENCY_COLUMN = "days_since_last_purchase"
BGNBD_COLUMN = "bgnbd_expected_purchases"
BASELINE_COLUMNS = (RECENCY_COLUMN, BGNBD_COLUMN)
REQUIRED_COLUMNS = (*ID_COLUMNS, *BASELINE_COLUMNS)
ROLES = ("training", "validation", "scoring")

MODEL_NAME = "gradient_boosting"
RECENCY_BASELINE = "baseline_recency"
BGNBD_BASELINE = "baseline_bgnbd"

# A small tree shape: the training snapshots are months older than the scoring date, so
# the customers in them are younger, and deep trees learn age-specific interactions that do
# not carry over. Measured (docs/benchmarks.md, 2026-12-06): 31 leaves of >= 40 rows
# lost to the BG/NBD baseline on CDNOW (validation ROC AUC 0.7412 against 0.7430) and
# scored 0.7358 on the demo; 8 leaves of >= 200 rows scored 0.7461 and 0.7511.
DEFAULT_MODEL_PARAMS = {
    "learning_rate": 0.05,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 200,
    "l2_regularization": 1.0,
}
# The number of trees is chosen by early stopping on a time split of the training rows:
# fitted on the earlier training snapshots, stopped when the log loss on the latest one has
# not improved for EARLY_STOPPING_ROUNDS trees (at most MAX_TREES). The fits that are
# evaluated and refitted then use that many trees, without early stopping, so the refit on
# training + validation is exactly the evaluated recipe. With a single training snapshot
# there is nothing to stop on: TREES_WITHOUT_EARLY_STOPPING.
MAX_TREES = 500
EARLY_STOPPING_ROUNDS = 20
TREES_WITHOUT_EARLY_STOPPING = 150
# Permutation importance predicts this many validation rows once per feature and repeat:
# with up to MAX_TREES trees, 20,000 rows took 26 s of a 42 s fit at 100k customers, 5,000
# rows 7 s (docs/benchmarks.md); the importances only rank the driver candidates.
IMPORTANCE_MAX_ROWS = 5_000
CALIBRATION_BINS = 10
# The model's probabilities are used as such (expected losses, tier cut-offs), so their
# calibration on the validation snapshot is measured every run and a larger error than this
# warns. Boosting on log loss is calibrated where it was fitted; what is left is drift of the
# churn rate between the training snapshots and later ones, which a recalibration fitted on
# past snapshots cannot know. Measured (docs/benchmarks.md, 2026-12-07): Platt scaling or
# isotonic regression fitted on the latest training snapshot raised the validation error from
# 0.024 to 0.037 on CDNOW and from 0.015 to 0.10 on the demo, so no such step is applied.
MAX_CALIBRATION_ERROR = 0.05
DEFAULT_TIER_CUTOFFS = (0.4, 0.7)  # medium from 0.4, high from 0.7 (churn probability)
# A customer's drivers are looked for among the model's most important features: the
# others move its predictions too little to be anyone's reason, and each candidate
# costs a prediction over every customer (27 of them: 30 s at 1M customers).
DRIVER_CANDIDATES = 10
# Fits on at most this many rows (CHURN_MAX_TRAINING_ROWS), drawn by a hash of customer
# and snapshot. At 1M customers (1.3M training rows; docs/benchmarks.md, 2026-12-07) the
# validation ROC AUC was 0.7765 with 750k rows, 0.7774 with 400k and 0.7738 with 250k;
# 400k fitted in 64 s against 99 s.
DEFAULT_MAX_TRAINING_ROWS = Settings.churn_max_training_rows


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def _check_metric_inputs(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """Labels as 0/1 ints and scores as floats; both classes present, no NaN scores."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"y_true and scores must be 1-D of equal length, got {y.shape}, {s.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y_true must be 0/1 or boolean, got values {np.unique(y)[:5].tolist()}")
    if np.isnan(s).any():
        raise ValueError(f"scores contain {int(np.isnan(s).sum())} NaN value(s)")
    y = y.astype(int)
    if y.min() == y.max():
        raise ValueError(f"y_true has a single class ({y[0]}); the metric is undefined")
    return y, s


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve: P(score of a random positive > score of a random negative),
    ties counting 1/2. Computed from average ranks (Mann-Whitney U / (n_pos * n_neg))."""
    y, s = _check_metric_inputs(y_true, scores)
    ranks = rankdata(s, method="average")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def pr_auc(y_true, scores) -> float:
    """Average precision: sum over distinct score thresholds t (descending) of
    (recall(t) - recall(previous t)) * precision(t), where a threshold keeps every row with
    score >= t (tied rows enter together). Same definition as sklearn's average_precision_score;
    no interpolation."""
    y, s = _check_metric_inputs(y_true, scores)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    # Last position of each group of tied scores = one threshold.
    last_of_group = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tp = tp[last_of_group]
    kept = np.flatnonzero(last_of_group) + 1
    precision = tp / kept
    recall = tp / tp[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def brier_score(y_true, probabilities) -> float:
    """Mean squared difference between predicted probability and the 0/1 outcome (lower is
    better; 0.25 for a constant 0.5)."""
    y, p = _check_metric_inputs(y_true, probabilities)
    if (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    return float(np.mean((p - y) ** 2))


def top_decile_lift(y_true, scores, fraction: float = 0.1) -> float:
    """Churn rate among the top `fraction` (10 %) of rows by score divided by the overall churn
    rate. The top group has k = ceil(fraction * n) rows. Ties at the cut are broken by
    expectation, not by row order: if m of the g rows tied at the cut score fit into the top k,
    each counts as m/g of a row (so the result is the expected lift under a random tie-break,
    and does not depend on row order)."""
    y, s = _check_metric_inputs(y_true, scores)
    k = math.ceil(fraction * y.size)
    cut = np.sort(s)[::-1][k - 1]
    above = s > cut
    tied = s == cut
    share_of_tied = (k - above.sum()) / tied.sum()
    positives_in_top = y[above].sum() + share_of_tied * y[tied].sum()
    return float((positives_in_top / k) / y.mean())


def calibration(
    predicted: np.ndarray, actual: np.ndarray, bins: int = CALIBRATION_BINS
) -> pd.DataFrame:
    """Mean prediction and mean outcome per equal-count bin of the prediction (ties kept
    together by ranking with the average method, then cutting the rank)."""
    ranks = pd.Series(predicted).rank(method="average").to_numpy()
    bin_of = np.minimum((ranks - 1) * bins // len(ranks), bins - 1).astype(int) + 1
    frame = pd.DataFrame({"bin": bin_of, "predicted": predicted, "actual": actual})
    return (
        frame.groupby("bin")
        .agg(
            customers=("predicted", "size"),
            mean_predicted=("predicted", "mean"),
            mean_actual=("actual", "mean"),
        )
        .reset_index()
    )


def calibration_error(y_true, probabilities, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: the mean over rows of |mean probability - churn rate|
    of the row's `calibration` bin (equal-count bins of the probability). 0 when every
    bin's churn rate is its mean probability; unlike the Brier score, it does not reward
    ranking, only whether a probability of 0.8 means 80 %."""
    y, p = _check_metric_inputs(y_true, probabilities)
    table = calibration(p, y.astype(float), bins)
    gaps = (table["mean_predicted"] - table["mean_actual"]).abs()
    return float((gaps * table["customers"]).sum() / y.size)


# --------------------------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------------------------


class InsufficientHistoryError(ValueError):
    """The data do not yet hold labelled snapshots of both classes to train and validate on
    (a young warehouse): a state to report, not a defect."""


@dataclass(frozen=True)
class ChurnEvaluation:
    """Result of `train_and_evaluate`; `model` is what `score` uses."""

    metrics: pd.DataFrame  # one row per model_name
    beats_baselines: bool
    message: str
    feature_importances: pd.DataFrame  # feature, importance_mean, importance_std (desc)
    calibration: pd.DataFrame  # the model's `calibration` table on the validation snapshot
    is_calibrated: bool  # its calibration_error is at most MAX_CALIBRATION_ERROR
    calibration_message: str
    model: HistGradientBoostingClassifier
    feature_columns: tuple[str, ...]  # the model's input columns, in order
    ignored_columns: tuple[str, ...]  # feature columns null on every training row
    feature_medians: np.ndarray  # training medians, reference values for top drivers
    horizon_days: int
    seed: int
    refit_on_validation: bool


def feature_columns(features: pd.DataFrame) -> tuple[str, ...]:
    """Every column that is not an id/date/role/label or setting column, in table order."""
    return tuple(c for c in features.columns if c not in (*ID_COLUMNS, *SETTING_COLUMNS))


def _feature_matrix(features: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Float matrix with NaN for nulls; booleans become 0/1; non-numeric columns are errors."""
    bad = [
        f"{c} ({features[c].dtype})"
        for c in columns
        if not (
            pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
        )
    ]
    if bad:
        raise ValueError(f"feature columns must be numeric or boolean: {', '.join(bad)}")
    return np.column_stack(
        [features[c].astype("Float64").to_numpy(dtype=float, na_value=np.nan) for c in columns]
    )


def _check_columns(features: pd.DataFrame, required) -> None:
    missing = [c for c in required if c not in features.columns]
    if missing:
        raise ValueError(f"churn features table is missing required column(s): {missing}")


def _labels(rows: pd.DataFrame, role: str) -> np.ndarray:
    labels = rows["is_churned"].astype("boolean")
    if labels.isna().any():
        example = rows.loc[labels.isna().to_numpy(), "customer_id"].iloc[0]
        raise ValueError(
            f"{int(labels.isna().sum())} {role} row(s) have a null is_churned "
            f"(e.g. customer_id {example!r})"
        )
    return labels.to_numpy(dtype=int)


def _split(features: pd.DataFrame, horizon_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and validation rows, with the checks that make the time split honest."""
    _check_columns(features, REQUIRED_COLUMNS)
    unknown = sorted(set(features["snapshot_role"].dropna().unique()) - set(ROLES))
    if unknown:
        raise ValueError(f"snapshot_role has unknown value(s) {unknown}; expected {ROLES}")
    training = features[features["snapshot_role"] == "training"]
    validation = features[features["snapshot_role"] == "validation"]
    if training.empty:
        raise InsufficientHistoryError("no 'training' rows in the churn features table")
    if validation.empty:
        raise InsufficientHistoryError("no 'validation' rows in the churn features table")
    # A training label looks horizon_days past its snapshot; that window must end by the
    # validation snapshot, or training would learn from outcomes in the validation period.
    last_training = pd.Timestamp(training["snapshot_date"].max())
    first_validation = pd.Timestamp(validation["snapshot_date"].min())
    if last_training + pd.Timedelta(days=horizon_days) > first_validation:
        raise ValueError(
            f"time split leaks: training snapshot {last_training.date()} + {horizon_days} days "
            f"label horizon is after the validation snapshot {first_validation.date()}"
        )
    return training, validation


def _capped(rows: pd.DataFrame, max_rows: int | None) -> np.ndarray:
    """A boolean mask keeping at most `max_rows` of `rows`: those whose hash of
    (customer_id, snapshot_date) is smallest, so the same rows are kept whatever their
    order, and a row stays kept when others come and go."""
    if max_rows is None or len(rows) <= max_rows:
        return np.ones(len(rows), dtype=bool)
    hashes = pd.util.hash_pandas_object(
        rows[["customer_id", "snapshot_date"]], index=False
    ).to_numpy()
    keep = np.zeros(len(rows), dtype=bool)
    keep[np.argsort(hashes, kind="stable")[:max_rows]] = True
    return keep


def _leaf_size(params: dict, rows: int) -> int:
    """The shape's rows per leaf, fewer when a training set is tiny (tests, a young
    warehouse): a leaf may not need more rows than a twentieth of them."""
    return min(params.get("min_samples_leaf", 20), max(1, rows // 20))


def _fit_model(x: np.ndarray, y: np.ndarray, seed: int, params: dict):
    if y.min() == y.max():
        raise InsufficientHistoryError(
            f"training rows have a single class (all is_churned = {bool(y[0])}); cannot fit"
        )
    return HistGradientBoostingClassifier(
        random_state=seed,
        early_stopping=False,
        **{**params, "min_samples_leaf": _leaf_size(params, len(y))},
    ).fit(x, y)


def _number_of_trees(
    x: np.ndarray, y: np.ndarray, snapshot_dates: np.ndarray, seed: int, params: dict
) -> int:
    """Trees by early stopping on the latest training snapshot, the model fitted on the
    earlier ones (see MAX_TREES)."""
    latest = snapshot_dates == snapshot_dates.max()
    if latest.all() or np.unique(y[latest]).size < 2 or np.unique(y[~latest]).size < 2:
        return TREES_WITHOUT_EARLY_STOPPING
    # a column the earlier snapshots never fill (a source that started later) cannot be binned
    x = x[:, ~np.isnan(x[~latest]).all(axis=0)]
    stopped = HistGradientBoostingClassifier(
        random_state=seed,
        **{**params, "min_samples_leaf": _leaf_size(params, int((~latest).sum()))},
        max_iter=MAX_TREES,
        early_stopping=True,
        n_iter_no_change=EARLY_STOPPING_ROUNDS,
    ).fit(x[~latest], y[~latest], X_val=x[latest], y_val=y[latest])
    return int(stopped.n_iter_)


def _baseline_scores(rows: pd.DataFrame, medians: np.ndarray) -> dict[str, np.ndarray]:
    """Risk scores (higher = more churn risk): recency as is, BG/NBD expected purchases negated.
    Nulls take the training median, so a missing value ranks as a typical customer."""
    values = _feature_matrix(rows, BASELINE_COLUMNS)
    values = np.where(np.isnan(values), medians, values)
    return {RECENCY_BASELINE: values[:, 0], BGNBD_BASELINE: -values[:, 1]}


def _metric_row(name, y, scores, probabilities, n_training) -> dict:
    return {
        "model_name": name,
        "roc_auc": roc_auc(y, scores),
        "pr_auc": pr_auc(y, scores),
        "brier_score": brier_score(y, probabilities),
        "calibration_error": calibration_error(y, probabilities),
        "top_decile_lift": top_decile_lift(y, scores),
        "n_validation": int(y.size),
        "validation_churn_rate": float(y.mean()),
        "n_training": int(n_training),
    }


def _calibration_verdict(metrics: pd.DataFrame) -> tuple[bool, str]:
    model = metrics.set_index("model_name").loc[MODEL_NAME]
    error, rate = model["calibration_error"], model["validation_churn_rate"]
    passed = error <= MAX_CALIBRATION_ERROR
    return bool(passed), (
        f"{MODEL_NAME} probabilities are {'' if passed else 'NOT '}calibrated on the validation "
        f"snapshot: expected calibration error {error:.4f} "
        f"({'<=' if passed else '>'} {MAX_CALIBRATION_ERROR}), churn rate {rate:.4f}"
    )


def _verdict(metrics: pd.DataFrame) -> tuple[bool, str]:
    """The model must have a higher ROC AUC and PR AUC than each baseline."""
    by_name = metrics.set_index("model_name")
    model = by_name.loc[MODEL_NAME]
    shortfalls = [
        f"{baseline} on {metric} ({model[metric]:.4f} <= {by_name.loc[baseline, metric]:.4f})"
        for baseline in (RECENCY_BASELINE, BGNBD_BASELINE)
        for metric in ("roc_auc", "pr_auc")
        if not model[metric] > by_name.loc[baseline, metric]
    ]
    if shortfalls:
        return False, f"{MODEL_NAME} does NOT beat " + "; ".join(shortfalls)
    return True, (
        f"{MODEL_NAME} beats both baselines: ROC AUC {model['roc_auc']:.4f} "
        f"(recency {by_name.loc[RECENCY_BASELINE, 'roc_auc']:.4f}, "
        f"BG/NBD {by_name.loc[BGNBD_BASELINE, 'roc_auc']:.4f}), PR AUC {model['pr_auc']:.4f} "
        f"(recency {by_name.loc[RECENCY_BASELINE, 'pr_auc']:.4f}, "
        f"BG/NBD {by_name.loc[BGNBD_BASELINE, 'pr_auc']:.4f})"
    )


# The code a fit depends on: a change to any of these files is a new recipe.
_RECIPE_FILES = tuple(
    Path(__file__).with_name(f"{name}.py") for name in ("churn", "clv", "features")
)


def training_fingerprint(
    labelled_features: pd.DataFrame,
    labelled_summaries: pd.DataFrame,
    *,
    horizon_days: int,
    seed: int,
    model_params: dict | None = None,
    max_training_rows: int | None = DEFAULT_MAX_TRAINING_ROWS,
) -> str:
    """SHA-256 of everything a fit of `train_and_evaluate` depends on: the labelled
    (training and validation) rows of the features and of the purchase summaries the
    BG/NBD baseline is fitted on - values, column names and types, in row order - the
    horizon, seed and hyper-parameters, the model code and the scikit-learn version.
    Equal fingerprints give identical fits (the fit is seeded and deterministic), so a
    fit stored under its fingerprint can be reused instead of refitted: the scores are
    the same either way, and a late or corrected record in the labelled rows changes
    the fingerprint."""
    digest = hashlib.sha256()
    for frame in (labelled_features, labelled_summaries):
        digest.update(repr([(c, str(t)) for c, t in frame.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    params = {**DEFAULT_MODEL_PARAMS, **(model_params or {})}
    recipe = (horizon_days, seed, sorted(params.items()), max_training_rows, sklearn.__version__)
    digest.update(repr(recipe).encode())
    for path in _RECIPE_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train_and_evaluate(
    features: pd.DataFrame,
    *,
    horizon_days: int,
    seed: int = 42,
    model_params: dict | None = None,
    refit_on_validation: bool = True,
    importance_repeats: int = 5,
    importance_max_rows: int = IMPORTANCE_MAX_ROWS,
    max_training_rows: int | None = DEFAULT_MAX_TRAINING_ROWS,
) -> ChurnEvaluation:
    """Fit on all 'training' snapshots, evaluate on the 'validation' snapshot (time split).

    - Model: HistGradientBoostingClassifier (NaN-aware) with `DEFAULT_MODEL_PARAMS` updated by
      `model_params` and `random_state=seed`; unless `model_params` sets `max_iter`, the
      number of trees is chosen by early stopping on the latest training snapshot
      (`_number_of_trees`) and named in the message.
    - Baselines: days since last purchase (higher = riskier) and BG/NBD expected purchases
      (lower = riskier). Rank metrics (ROC AUC, PR AUC, lift) use the raw scores; the Brier
      score and the calibration error need probabilities, so each baseline is calibrated by a
      one-feature logistic regression fitted on the training rows only.
    - Calibration: the model's `calibration` table and `calibration_error` on the validation
      snapshot, `is_calibrated` when the error is at most MAX_CALIBRATION_ERROR.
    - Feature importances: permutation importance (drop in validation ROC AUC when a column is
      shuffled, `importance_repeats` seeded shuffles, each on a seeded sample of at most
      `importance_max_rows` validation rows to bound the cost) of the training-only fit — the
      model the metrics describe, measured on data it has not seen.
    - `model`: with `refit_on_validation` (default) the same recipe refitted on training +
      validation rows, because the validation snapshot is the most recent labelled period and
      the closest to the scoring date; the metrics estimate the recipe's quality (fixed
      hyper-parameters, no early stopping). Otherwise the training-only fit.
    - Each fit, the model's and the baselines' calibration, sees at most
      `max_training_rows` rows (`_capped`: a hash of customer and snapshot draws them);
      the validation metrics use every validation row.
    """
    training, validation = _split(features, horizon_days)
    candidates = feature_columns(features)
    x_train = _feature_matrix(training, candidates)
    # Columns null on every training row carry nothing to learn (and scikit-learn's binning
    # fails on them): left out of the model and named in the message.
    empty = np.isnan(x_train).all(axis=0)
    ignored = tuple(c for c, e in zip(candidates, empty, strict=True) if e)
    if missing := [c for c in BASELINE_COLUMNS if c in ignored]:
        # e.g. BG/NBD cannot be fitted on the first days of a young warehouse
        raise InsufficientHistoryError(
            f"baseline column(s) {', '.join(missing)} null on every training row (the "
            "training snapshots come too early in the history to compare the model with them)"
        )
    columns = tuple(c for c in candidates if c not in ignored)
    x_train, y_train = x_train[:, ~empty], _labels(training, "training")
    x_val, y_val = _feature_matrix(validation, columns), _labels(validation, "validation")
    params = {**DEFAULT_MODEL_PARAMS, **(model_params or {})}
    if y_val.min() == y_val.max():
        raise InsufficientHistoryError(
            f"validation rows have a single class (all is_churned = {bool(y_val[0])}); "
            "ROC AUC and PR AUC are undefined"
        )

    fitted = _capped(training, max_training_rows)
    n_fitted = int(fitted.sum())
    if "max_iter" not in params:
        dates = training["snapshot_date"].to_numpy()[fitted]
        params["max_iter"] = _number_of_trees(x_train[fitted], y_train[fitted], dates, seed, params)
    model = _fit_model(x_train[fitted], y_train[fitted], seed, params)
    p_val = model.predict_proba(x_val)[:, 1]
    rows = [_metric_row(MODEL_NAME, y_val, p_val, p_val, n_fitted)]

    feature_medians = np.nanmedian(x_train, axis=0)
    medians = feature_medians[[columns.index(c) for c in BASELINE_COLUMNS]]
    train_scores = _baseline_scores(training, medians)
    for name, val_score in _baseline_scores(validation, medians).items():
        calibrator = make_pipeline(StandardScaler(), LogisticRegression())
        # calibrated on the model's own training rows: the same sample for all
        calibrator.fit(train_scores[name][fitted].reshape(-1, 1), y_train[fitted])
        probabilities = calibrator.predict_proba(val_score.reshape(-1, 1))[:, 1]
        rows.append(_metric_row(name, y_val, val_score, probabilities, n_fitted))
    metrics = pd.DataFrame(rows)
    beats, message = _verdict(metrics)
    is_calibrated, calibration_message = _calibration_verdict(metrics)
    message += f"; {params['max_iter']} trees"
    if ignored:
        message += f"; ignored feature(s) null on every training row: {', '.join(ignored)}"

    importance = permutation_importance(
        model,
        x_val,
        y_val,
        scoring="roc_auc",
        n_repeats=importance_repeats,
        random_state=seed,
        max_samples=min(importance_max_rows, len(y_val)),
    )
    importances = (
        pd.DataFrame(
            {
                "feature": columns,
                "importance_mean": importance.importances_mean,
                "importance_std": importance.importances_std,
            }
        )
        .sort_values(["importance_mean", "feature"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )

    if refit_on_validation:
        refitted = _capped(pd.concat([training, validation]), max_training_rows)
        model = _fit_model(
            np.vstack([x_train, x_val])[refitted], np.r_[y_train, y_val][refitted], seed, params
        )
    return ChurnEvaluation(
        metrics=metrics,
        beats_baselines=beats,
        message=message,
        feature_importances=importances,
        calibration=calibration(p_val, y_val.astype(float)),
        is_calibrated=is_calibrated,
        calibration_message=calibration_message,
        model=model,
        feature_columns=columns,
        ignored_columns=ignored,
        feature_medians=feature_medians,
        horizon_days=horizon_days,
        seed=seed,
        refit_on_validation=refit_on_validation,
    )


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def _top_drivers(
    evaluation: ChurnEvaluation, x: np.ndarray, p: np.ndarray, n: int, candidates: int
) -> np.ndarray:
    """Per-customer drivers: for each of the `candidates` most important features
    (evaluation.feature_importances), how much the churn probability drops when that one
    feature is set to its training median (all else equal). The `n` features with the
    largest positive drop are the ones raising this customer's risk above a typical value.
    Text like "days_since_last_purchase (+0.213); tickets_90d (+0.041)"; empty when none raises
    it. One batch prediction per candidate, no row loop, over the customers whose value is
    not already the median (for the others the drop is 0: the model scores each row on its
    own; about half the predictions at 1M customers). Limitation: with strongly correlated
    features (recency and BG/NBD) moving one alone understates it, as the other still carries
    the signal."""
    contributions = np.zeros_like(x)
    ranked = evaluation.feature_importances["feature"].head(candidates)
    for j in sorted(evaluation.feature_columns.index(f) for f in ranked):
        moved = x[:, j] != evaluation.feature_medians[j]  # a missing value is moved too
        if moved.any():
            x_typical = x[moved]
            x_typical[:, j] = evaluation.feature_medians[j]
            contributions[moved, j] = p[moved] - evaluation.model.predict_proba(x_typical)[:, 1]
    names = np.asarray(evaluation.feature_columns, dtype=object)
    # Largest contribution first; equal contributions in feature-column order.
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :n]
    text = np.full(len(x), "", dtype=object)
    for rank in range(min(n, x.shape[1])):
        value = np.take_along_axis(contributions, order[:, [rank]], axis=1)[:, 0]
        part = names[order[:, rank]] + " (" + np.char.mod("%+.3f", value).astype(object) + ")"
        keep = value >= 0.0005  # rounds to a non-zero printed value
        separator = np.where(text == "", "", "; ")
        text = np.where(keep, text + separator + part, text)
    return text


def score(
    evaluation: ChurnEvaluation,
    features: pd.DataFrame,
    *,
    tier_cutoffs: tuple[float, float] = DEFAULT_TIER_CUTOFFS,
    n_drivers: int = 3,
    driver_candidates: int = DRIVER_CANDIDATES,
) -> pd.DataFrame:
    """Churn probability for the 'scoring' rows (input order kept).

    risk_tier: 'high' if churn_probability >= tier_cutoffs[1], 'medium' if >= tier_cutoffs[0],
    else 'low' — fixed probability cut-offs, so a tier means the same across runs.
    top_drivers: see `_top_drivers` (per customer, relative to training medians, among the
    `driver_candidates` most important features).
    Returns customer_id, as_of_date (the snapshot date), horizon_days, churn_probability,
    risk_tier, top_drivers.
    """
    low, high = tier_cutoffs
    if not 0 <= low <= high <= 1:
        raise ValueError(f"tier_cutoffs must satisfy 0 <= medium <= high <= 1, got {tier_cutoffs}")
    _check_columns(features, ("customer_id", "snapshot_date", "snapshot_role"))
    _check_columns(features, evaluation.feature_columns)
    rows = features[features["snapshot_role"] == "scoring"]
    x = _feature_matrix(rows, evaluation.feature_columns)
    p = evaluation.model.predict_proba(x)[:, 1] if len(rows) else np.empty(0)
    tier = np.select([p >= high, p >= low], ["high", "medium"], default="low")
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "as_of_date": rows["snapshot_date"].to_numpy(),
            "horizon_days": evaluation.horizon_days,
            "churn_probability": p,
            "risk_tier": tier,
            "top_drivers": _top_drivers(evaluation, x, p, n_drivers, driver_candidates)
            if len(rows)
            else [],
        }
    )
