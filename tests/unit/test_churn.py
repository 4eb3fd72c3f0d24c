import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from orchestration.ml.churn import (
    DEFAULT_MODEL_PARAMS,
    EARLY_STOPPING_ROUNDS,
    MAX_CALIBRATION_ERROR,
    TREES_WITHOUT_EARLY_STOPPING,
    InsufficientHistoryError,
    _number_of_trees,
    brier_score,
    calibration_error,
    pr_auc,
    roc_auc,
    score,
    top_decile_lift,
    train_and_evaluate,
    training_fingerprint,
)

HORIZON = 90
SNAPSHOTS = (
    ("training", dt.date(2024, 1, 1)),
    ("training", dt.date(2024, 4, 1)),
    ("training", dt.date(2024, 7, 1)),
    ("validation", dt.date(2024, 10, 1)),
    ("scoring", dt.date(2024, 12, 30)),
)
METRIC_COLUMNS = [
    "model_name",
    "roc_auc",
    "pr_auc",
    "brier_score",
    "calibration_error",
    "top_decile_lift",
    "n_validation",
    "validation_churn_rate",
    "n_training",
]


def synthetic_features(n_customers: int = 1500, seed: int = 7) -> pd.DataFrame:
    """Churn rises with recency and with an XOR of x1, x2 that neither baseline can see.
    BG/NBD expected purchases is a noisy function of recency; app_user and tickets are noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for role, snapshot in SNAPSHOTS:
        recency = np.round(rng.exponential(60, n_customers))
        x1, x2 = rng.random(n_customers), rng.random(n_customers)
        xor = (x1 > 0.5) != (x2 > 0.5)
        logit = -2.5 + 0.02 * recency + 3.0 * xor
        churned = rng.random(n_customers) < 1 / (1 + np.exp(-logit))
        bgnbd = np.clip(3 * np.exp(-recency / 80) + rng.normal(0, 0.4, n_customers), 0, None)
        tickets = pd.array(rng.poisson(1, n_customers), dtype="Int64")
        tickets[rng.random(n_customers) < 0.1] = pd.NA
        app_user = pd.array(rng.random(n_customers) < 0.5, dtype="boolean")
        app_user[rng.random(n_customers) < 0.1] = pd.NA
        label = pd.array(churned, dtype="boolean")
        if role == "scoring":
            label[:] = pd.NA
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": [f"C{i:05d}" for i in range(n_customers)],
                    "snapshot_date": pd.Timestamp(snapshot),
                    "snapshot_role": role,
                    "is_churned": label,
                    "days_since_last_purchase": recency,
                    "bgnbd_expected_purchases": bgnbd,
                    "x1": x1,
                    "x2": x2,
                    "tickets": tickets,
                    "app_user": app_user,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def features():
    return synthetic_features()


@pytest.fixture(scope="module")
def evaluation(features):
    return train_and_evaluate(features, horizon_days=HORIZON)


# ---- metrics on hand-made data -------------------------------------------------------------


def test_roc_auc_by_hand():
    # Positives 0.35, 0.8; negatives 0.1, 0.4. Pairs: 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes,
    # 0.8>0.4 yes -> 3 of 4 = 0.75.
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # Positives 0.5, 0.9; negatives 0.5, 0.2. Pairs: 0.5 vs 0.5 tie = 1/2, the other three
    # wins -> 3.5 / 4 = 0.875.
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(0.875)


def test_pr_auc_by_hand():
    # Descending: 0.8(+) 0.4(-) 0.35(+) 0.1(-). Recall steps at 0.8 (P=1, R 0->0.5) and at
    # 0.35 (P=2/3, R 0.5->1): AP = 0.5*1 + 0.5*2/3 = 0.8333...
    assert pr_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.5 + 1 / 3)
    # Ties enter together: 0.9(+) -> P=1, R=0.5; the three rows at 0.6 (one +) -> P=2/4,
    # R=1; 0.1(-) adds no recall. AP = 0.5*1 + 0.5*0.5 = 0.75.
    assert pr_auc([1, 0, 1, 0, 0], [0.9, 0.6, 0.6, 0.6, 0.1]) == pytest.approx(0.75)


def test_brier_score_by_hand():
    # (0.8-1)^2 + (0.3-0)^2 + (0.5-1)^2 = 0.04 + 0.09 + 0.25 = 0.38; / 3
    assert brier_score([True, False, True], [0.8, 0.3, 0.5]) == pytest.approx(0.38 / 3)


def test_calibration_error_by_hand():
    # Two bins of two rows: 0.1, 0.1 with outcomes 0, 1 (rate 0.5, gap 0.4) and 0.9, 0.9
    # with 1, 1 (rate 1, gap 0.1): (2 * 0.4 + 2 * 0.1) / 4 = 0.25.
    assert calibration_error([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9], bins=2) == pytest.approx(0.25)
    # Four tied rows share one bin: mean 0.25, rate 1/4 -> calibrated.
    assert calibration_error([1, 0, 0, 0], [0.25] * 4) == pytest.approx(0.0)
    # Calibration is not ranking: a constant 0.5 on a 50 % churn rate is calibrated (and
    # ranks no better than chance); 0.4 for both churners and 0.6 for both others ranks
    # worst and is 0.6 off in both bins: |0.4 - 1| and |0.6 - 0|.
    y = [1, 0, 1, 0]
    assert calibration_error(y, [0.5] * 4) == pytest.approx(0.0)
    assert roc_auc(y, [0.4, 0.6, 0.4, 0.6]) == 0.0
    assert calibration_error(y, [0.4, 0.6, 0.4, 0.6], bins=2) == pytest.approx(0.6)


def test_top_decile_lift_by_hand():
    # 20 rows, 4 churners (rate 0.2); top 10 % = 2 rows: 0.95(+) and 0.9(-) -> rate 0.5,
    # lift 0.5 / 0.2 = 2.5.
    y = np.array([1, 0] + [1, 1, 1] + [0] * 15)
    s = np.array([0.95, 0.9] + [0.5, 0.4, 0.3] + [0.1] * 15)
    assert top_decile_lift(y, s) == pytest.approx(2.5)
    # Ties at the cut: 0.95(+) then three rows at 0.9 with one churner; 1 of the 3 tied rows
    # fits, counting 1/3 each -> churners in top = 1 + 1/3, rate (4/3)/2 = 2/3, lift
    # (2/3) / 0.2 = 10/3, whatever the row order.
    y = np.array([1, 1, 0, 0] + [1, 1] + [0] * 14)
    s = np.array([0.95, 0.9, 0.9, 0.9] + [0.5, 0.4] + [0.1] * 14)
    assert top_decile_lift(y, s) == pytest.approx(10 / 3)
    assert top_decile_lift(y[::-1], s[::-1]) == pytest.approx(10 / 3)


def test_metrics_reject_undefined_input():
    with pytest.raises(ValueError, match="single class"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        pr_auc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier_score([0, 1], [0.1, 1.2])
    with pytest.raises(ValueError, match="single class"):
        calibration_error([0, 0], [0.1, 0.2])


# ---- training and evaluation ---------------------------------------------------------------


def test_model_beats_both_baselines(evaluation):
    m = evaluation.metrics.set_index("model_name")
    assert list(evaluation.metrics.columns) == METRIC_COLUMNS
    assert list(m.index) == ["gradient_boosting", "baseline_recency", "baseline_bgnbd"]
    assert (m["n_validation"] == 1500).all() and (m["n_training"] == 4500).all()
    for baseline in ("baseline_recency", "baseline_bgnbd"):
        assert m.loc["gradient_boosting", "roc_auc"] > m.loc[baseline, "roc_auc"] + 0.05
        assert m.loc["gradient_boosting", "pr_auc"] > m.loc[baseline, "pr_auc"] + 0.05
        assert m.loc["gradient_boosting", "brier_score"] < m.loc[baseline, "brier_score"]
    # Recency does carry signal, so the baselines are better than chance.
    assert m.loc["baseline_recency", "roc_auc"] > 0.6
    assert evaluation.beats_baselines
    assert evaluation.message.startswith("gradient_boosting beats both baselines")
    # The XOR pair and recency matter; the pure-noise columns do not.
    top3 = set(evaluation.feature_importances["feature"].head(3))
    assert top3 == {"x1", "x2", "days_since_last_purchase"}


def test_calibration_is_measured_on_the_validation_snapshot(features, evaluation):
    # The synthetic churn process is the same in every snapshot: a calibrated model.
    table = evaluation.calibration
    assert table["customers"].sum() == 1500 and len(table) == 10
    error = evaluation.metrics.set_index("model_name").loc["gradient_boosting", "calibration_error"]
    assert error < MAX_CALIBRATION_ERROR and evaluation.is_calibrated
    gaps = (table["mean_predicted"] - table["mean_actual"]).abs()
    assert error == pytest.approx((gaps * table["customers"]).sum() / 1500)
    assert "probabilities are calibrated" in evaluation.calibration_message


def test_a_churn_rate_that_drifted_is_not_calibrated(features):
    # Nine in ten validation customers churn whatever their features: the probabilities
    # learnt on the training snapshots still range from low to high.
    drifted = features.copy()
    validation = (drifted["snapshot_role"] == "validation").to_numpy()
    rng = np.random.default_rng(1)
    drifted.loc[validation, "is_churned"] = rng.random(validation.sum()) < 0.9
    result = train_and_evaluate(drifted, horizon_days=HORIZON)
    assert not result.is_calibrated
    assert re.search(
        r"probabilities are NOT calibrated .* error 0\.\d{4} \(> 0\.05\), churn rate 0\.[89]\d{3}$",
        result.calibration_message,
    )
    lowest = result.calibration.iloc[0]
    assert lowest["mean_actual"] - lowest["mean_predicted"] > 0.5


def test_message_names_the_baseline_not_beaten(features):
    # Without x1/x2 the model only sees recency and its noisy copies: it cannot beat the
    # recency baseline by a margin, and must say which one it does not beat if it loses.
    weak = features.drop(columns=["x1", "x2"])
    result = train_and_evaluate(
        weak, horizon_days=HORIZON, model_params={"max_iter": 1, "max_leaf_nodes": 2}
    )
    # A single 2-leaf tree scores two values: far worse ranking than raw recency.
    assert not result.beats_baselines
    assert result.message.startswith("gradient_boosting does NOT beat baseline_recency on roc_auc")


def test_deterministic(features, evaluation):
    again = train_and_evaluate(features, horizon_days=HORIZON)
    pd.testing.assert_frame_equal(again.metrics, evaluation.metrics)
    pd.testing.assert_frame_equal(again.feature_importances, evaluation.feature_importances)
    pd.testing.assert_frame_equal(score(again, features), score(evaluation, features))


def test_validation_labels_are_not_used_for_training(features, evaluation):
    # Flip every validation label. If only training rows fit the model (and the baseline
    # calibrators), validation scores are unchanged, so each ROC AUC becomes exactly 1 - AUC.
    flipped = features.copy()
    is_val = flipped["snapshot_role"] == "validation"
    flipped.loc[is_val, "is_churned"] = ~flipped.loc[is_val, "is_churned"]
    result = train_and_evaluate(flipped, horizon_days=HORIZON, refit_on_validation=False)
    before = evaluation.metrics.set_index("model_name")
    after = result.metrics.set_index("model_name")
    np.testing.assert_allclose(after["roc_auc"], 1 - before["roc_auc"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        after["validation_churn_rate"], 1 - before["validation_churn_rate"], atol=1e-12
    )
    assert not result.beats_baselines


def test_time_split_must_not_overlap_label_horizon(features):
    with pytest.raises(
        ValueError, match=r"2024-07-01 \+ 120 days .* validation snapshot 2024-10-01"
    ):
        train_and_evaluate(features, horizon_days=120)


# ---- scoring -------------------------------------------------------------------------------


def test_score_output(features, evaluation):
    scored = score(evaluation, features)
    scoring_rows = features[features["snapshot_role"] == "scoring"]
    assert list(scored.columns) == [
        "customer_id",
        "as_of_date",
        "horizon_days",
        "churn_probability",
        "risk_tier",
        "top_drivers",
    ]
    assert scored["customer_id"].tolist() == scoring_rows["customer_id"].tolist()
    assert (scored["as_of_date"] == pd.Timestamp("2024-12-30")).all()
    assert (scored["horizon_days"] == HORIZON).all()
    p = scored["churn_probability"]
    assert p.between(0, 1).all() and p.nunique() > 100
    expected_tier = np.where(p >= 0.7, "high", np.where(p >= 0.4, "medium", "low"))
    assert (scored["risk_tier"] == expected_tier).all()
    assert set(scored["risk_tier"]) == {"high", "medium", "low"}
    # Very long silences: recency (or BG/NBD, its correlated stand-in: setting one of the two to
    # its median leaves the other telling the model the same story) drives the risk.
    long_silence = scoring_rows["days_since_last_purchase"].to_numpy() > 200
    assert long_silence.sum() > 10
    silent_drivers = scored.loc[long_silence, "top_drivers"]
    assert silent_drivers.str.contains("days_since_last_purchase").mean() > 0.9
    assert silent_drivers.str.contains("days_since_last_purchase|bgnbd_expected").all()
    drivers = scored["top_drivers"].str.split("; ")
    assert drivers.map(len).max() == 3
    assert scored["top_drivers"].str.fullmatch(r"(\w+ \(\+\d\.\d{3}\)(; )?){0,3}").all()
    # Fixed cut-offs are a parameter.
    assert (score(evaluation, features, tier_cutoffs=(0.0, 0.0))["risk_tier"] == "high").all()


def test_top_drivers_by_their_definition(features, evaluation):
    """Each customer's drivers, worked out one customer and one feature at a time: the drop
    in churn probability when that feature alone is set to its training median. Customers
    whose value already is the median (a count of 0, say) must come out the same."""
    scoring_rows = features[features["snapshot_role"] == "scoring"]
    columns = list(evaluation.feature_columns)
    x = scoring_rows[columns].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    at_median = (x == evaluation.feature_medians).any(axis=1)
    picked = np.concatenate([np.flatnonzero(at_median)[:5], np.flatnonzero(~at_median)[:5]])
    assert len(picked) == 10
    scored = score(evaluation, scoring_rows.iloc[picked])
    for i, drivers in zip(picked, scored["top_drivers"], strict=True):
        one = x[i : i + 1]
        p = evaluation.model.predict_proba(one)[0, 1]
        drops = []
        for j, column in enumerate(columns):
            typical = one.copy()
            typical[0, j] = evaluation.feature_medians[j]
            drops.append((p - evaluation.model.predict_proba(typical)[0, 1], column))
        top = sorted(drops, key=lambda d: -d[0])[:3]  # stable: ties in column order
        assert drivers == "; ".join(f"{c} ({d:+.3f})" for d, c in top if d >= 0.0005)


def test_drivers_are_looked_for_among_the_most_important_features(features, evaluation):
    """With two candidates, a driver is one of the two most important features, with the
    drop the full search finds for it."""
    scoring_rows = features[features["snapshot_role"] == "scoring"].head(200)
    top_two = list(evaluation.feature_importances["feature"].head(2))
    narrow = score(evaluation, scoring_rows, driver_candidates=2)["top_drivers"]
    named = narrow.str.findall(r"(\w+) \(").explode().dropna()
    assert set(named) <= set(top_two) and len(named) > 0
    wide = score(evaluation, scoring_rows)["top_drivers"]
    for few, many in zip(narrow.str.split("; "), wide.str.split("; "), strict=True):
        shared = (set(few) & set(many)) - {""}
        assert shared == {d for d in many if d.split(" (")[0] in top_two}


def test_each_fit_sees_at_most_the_row_cap_drawn_the_same_whatever_the_order(features):
    capped = train_and_evaluate(features, horizon_days=HORIZON, max_training_rows=1000)
    assert (capped.metrics["n_training"] == 1000).all()
    shuffled = features.sample(frac=1, random_state=3)
    again = train_and_evaluate(shuffled, horizon_days=HORIZON, max_training_rows=1000)
    rows = features[features["snapshot_role"] == "scoring"].head(50)
    assert np.array_equal(
        capped.model.predict_proba(rows[list(capped.feature_columns)].astype(float)),
        again.model.predict_proba(rows[list(again.feature_columns)].astype(float)),
    )


def test_score_requires_training_feature_columns(features, evaluation):
    with pytest.raises(ValueError, match=r"missing required column\(s\): \['tickets'\]"):
        score(evaluation, features.drop(columns=["tickets"]))


# ---- clear errors --------------------------------------------------------------------------


def _with_roles(features, mapping):
    changed = features.copy()
    changed["snapshot_role"] = changed["snapshot_role"].replace(mapping)
    return changed


def test_missing_required_columns_are_named(features):
    with pytest.raises(ValueError, match=r"\['is_churned', 'bgnbd_expected_purchases'\]"):
        train_and_evaluate(
            features.drop(columns=["is_churned", "bgnbd_expected_purchases"]),
            horizon_days=HORIZON,
        )


def test_no_training_rows(features):
    with pytest.raises(InsufficientHistoryError, match="no 'training' rows"):
        train_and_evaluate(features[features["snapshot_role"] != "training"], horizon_days=90)


def test_no_validation_rows(features):
    with pytest.raises(InsufficientHistoryError, match="no 'validation' rows"):
        train_and_evaluate(_with_roles(features, {"validation": "scoring"}), horizon_days=90)


def test_single_class_in_training(features):
    one_class = features.copy()
    one_class.loc[one_class["snapshot_role"] == "training", "is_churned"] = False
    with pytest.raises(InsufficientHistoryError, match="training rows have a single class"):
        train_and_evaluate(one_class, horizon_days=HORIZON)


def test_single_class_in_validation(features):
    one_class = features.copy()
    one_class.loc[one_class["snapshot_role"] == "validation", "is_churned"] = True
    message = r"validation rows have a single class \(all is_churned = True"
    with pytest.raises(InsufficientHistoryError, match=message):
        train_and_evaluate(one_class, horizon_days=HORIZON)


def test_a_baseline_without_values_in_training_is_too_little_history(features):
    early = features.copy()
    early.loc[early["snapshot_role"] == "training", "bgnbd_expected_purchases"] = np.nan
    with pytest.raises(InsufficientHistoryError, match="bgnbd_expected_purchases null on every"):
        train_and_evaluate(early, horizon_days=HORIZON)


def test_all_null_feature_is_accepted(features):
    # A source with no data yet (e.g. NPS not collected) must not break training or scoring.
    with_empty = features.assign(nps=pd.array([pd.NA] * len(features), dtype="Float64"))
    result = train_and_evaluate(
        with_empty, horizon_days=HORIZON, model_params={"max_iter": 20}, refit_on_validation=False
    )
    assert result.ignored_columns == ("nps",)
    assert "nps" not in result.feature_columns
    assert "nps" not in set(result.feature_importances["feature"])
    assert result.message.endswith("; ignored feature(s) null on every training row: nps")
    scored = score(result, with_empty)
    assert scored["churn_probability"].between(0, 1).all()
    assert not scored["top_drivers"].str.contains("nps").any()


def test_null_label_and_non_numeric_feature(features):
    null_label = features.copy()
    null_label.loc[5, "is_churned"] = pd.NA
    with pytest.raises(ValueError, match=r"1 training row.* null is_churned .*C00005"):
        train_and_evaluate(null_label, horizon_days=HORIZON)
    with pytest.raises(ValueError, match=r"must be numeric or boolean: tier \("):
        train_and_evaluate(features.assign(tier="gold"), horizon_days=HORIZON)


# ---- fingerprint of a fit ------------------------------------------------------------------


def test_training_fingerprint_follows_the_labelled_rows_and_the_settings(features):
    labelled = features[features["snapshot_role"] != "scoring"].reset_index(drop=True)
    summaries = labelled[["customer_id", "snapshot_date", "days_since_last_purchase"]]

    def fingerprint(rows=labelled, horizon=HORIZON, seed=42, params=None):
        return training_fingerprint(
            rows, summaries, horizon_days=horizon, seed=seed, model_params=params
        )

    reference = fingerprint()
    assert len(reference) == 64 and fingerprint(labelled.copy()) == reference
    late = labelled.copy()
    late.loc[17, "tickets"] = 9  # one corrected value in one training row
    null_label = labelled.copy()
    null_label.loc[3, "is_churned"] = pd.NA
    others = {
        fingerprint(late),
        fingerprint(null_label),
        fingerprint(labelled.iloc[:-1]),  # a row fewer
        fingerprint(labelled.astype({"x1": "float32"})),
        fingerprint(horizon=60),
        fingerprint(seed=7),
        fingerprint(params={"max_iter": 50}),
    }
    assert reference not in others and len(others) == 7


# ---- number of trees -----------------------------------------------------------------------


def _two_snapshots(signal: float, n: int = 4000, seed: int = 3):
    """x, y, snapshot dates: half the rows in an earlier snapshot, half in the latest; the
    label follows the first column with weight `signal` (0: pure noise)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (rng.random(n) < 1 / (1 + np.exp(-signal * x[:, 0]))).astype(int)
    dates = np.where(
        np.arange(n) < n // 2, np.datetime64("2024-01-01"), np.datetime64("2024-02-01")
    )
    return x, y, dates


def test_trees_stop_early_on_the_latest_snapshot():
    # Noise: the first trees already fit noise of the earlier snapshot, so the loss on the
    # latest one stops improving at once, and the fit stops EARLY_STOPPING_ROUNDS later.
    x, y, dates = _two_snapshots(signal=0.0)
    noise = _number_of_trees(x, y, dates, 42, DEFAULT_MODEL_PARAMS)
    assert noise <= 2 * EARLY_STOPPING_ROUNDS
    # A smooth signal needs many small trees at this learning rate.
    x, y, dates = _two_snapshots(signal=3.0)
    assert _number_of_trees(x, y, dates, 42, DEFAULT_MODEL_PARAMS) > noise + 20


def test_one_training_snapshot_has_nothing_to_stop_on():
    x, y, _ = _two_snapshots(signal=3.0)
    same_day = np.full(len(y), np.datetime64("2024-02-01"))
    assert (
        _number_of_trees(x, y, same_day, 42, DEFAULT_MODEL_PARAMS) == TREES_WITHOUT_EARLY_STOPPING
    )


def test_evaluation_names_its_number_of_trees(evaluation):
    assert re.search(r"; \d+ trees", evaluation.message)


def test_a_column_only_the_latest_snapshot_fills_does_not_stop_the_fit():
    # e.g. a source that started delivering after the earlier snapshots
    x, y, dates = _two_snapshots(signal=3.0)
    late = np.where(dates == dates.max(), 1.0, np.nan)
    trees = _number_of_trees(np.c_[x, late], y, dates, 42, DEFAULT_MODEL_PARAMS)
    assert trees == _number_of_trees(x, y, dates, 42, DEFAULT_MODEL_PARAMS)
