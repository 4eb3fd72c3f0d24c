"""What customers say: the text-scoring asset, a thin wrapper around orchestration/text.

It runs after dbt has built int_feedback_texts and loaded the two lexicon seeds, and
before the feedback marts that join its tables (dbt_customer_marts)."""

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from orchestration.text.scoring import SENTIMENT_F1_GOAL, TOPIC_F1_GOAL, evaluate
from orchestration.text.store import rescore_changed_texts, scored_against_truth

TEXTS = dg.AssetKey(["intermediate", "int_feedback_texts"])
TOPIC_KEYWORDS = dg.AssetKey(["reference", "feedback_topic_keywords"])
SENTIMENT_TERMS = dg.AssetKey(["reference", "feedback_sentiment_terms"])
TEXT_SCORES = dg.AssetKey(["ml", "feedback_text_scores"])
TEXT_TOPICS = dg.AssetKey(["ml", "feedback_text_topics"])
# The languages the scorer is built for; `und` (emoji only) is reported, not judged. A
# language with fewer labelled records neither: a handful of texts gives an F1 of chance.
JUDGED_LANGUAGES = ("en", "zh")
MIN_JUDGED_RECORDS = 100


def _table(key: dg.AssetKey) -> str:
    """Asset keys mirror the warehouse: schema/table."""
    return ".".join(key.path)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            TEXT_SCORES,
            deps=[TEXTS, TOPIC_KEYWORDS, SENTIMENT_TERMS],
            description="Per text record: language, sentiment (score and label) and primary "
            "topic; only new or changed texts are scored.",
            kinds={"python", "duckdb"},
        ),
        dg.AssetSpec(
            TEXT_TOPICS,
            deps=[TEXTS, TOPIC_KEYWORDS, SENTIMENT_TERMS],
            description="Per text record: every topic its keywords name.",
            kinds={"python", "duckdb"},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "accuracy_against_ground_truth",
            asset=TEXT_SCORES,
            description="Macro-F1 of sentiment and topic per language against the demo "
            f"generator's truth reaches {SENTIMENT_F1_GOAL} and {TOPIC_F1_GOAL} in English and "
            f"Chinese when {MIN_JUDGED_RECORDS} texts are labelled (warning only; passes with "
            "nothing to compare on data without a ground truth).",
        )
    ],
    group_name="ml",
    pool=WAREHOUSE_POOL,
)
def feedback_text_scores(
    context: dg.AssetExecutionContext, settings: SettingsResource, warehouse: WarehouseResource
):
    with warehouse.connect() as con:
        summary = rescore_changed_texts(
            con, _table(TEXTS), _table(TOPIC_KEYWORDS), _table(SENTIMENT_TERMS)
        )
        compared = scored_against_truth(con, settings.settings.ground_truth_dir)
    context.log.info(
        f"{summary.scored:,} of {summary.texts:,} texts scored, {summary.removed:,} "
        f"scores removed (lexicon {summary.lexicon_version[:12]})"
    )
    metadata = {
        "texts": summary.texts,
        "scored_this_run": summary.scored,
        "scores_removed": summary.removed,
        "lexicon_version": summary.lexicon_version,
    }
    yield dg.MaterializeResult(asset_key=TEXT_SCORES, metadata=metadata)
    yield dg.MaterializeResult(asset_key=TEXT_TOPICS, metadata=metadata)
    yield _accuracy_check(compared)


def _accuracy_check(compared) -> dg.AssetCheckResult:
    if compared.empty:
        return dg.AssetCheckResult(
            asset_key=TEXT_SCORES,
            check_name="accuracy_against_ground_truth",
            passed=True,
            metadata={"verdict": "no ground truth labels for the scored texts"},
        )
    scores = evaluate(compared)
    short = scores[
        (scores["records"] >= MIN_JUDGED_RECORDS)
        & scores["language"].isin(JUDGED_LANGUAGES)
        & (
            (scores["sentiment_macro_f1"] < SENTIMENT_F1_GOAL)
            | (scores["topic_macro_f1"] < TOPIC_F1_GOAL)
        )
    ]
    return dg.AssetCheckResult(
        asset_key=TEXT_SCORES,
        check_name="accuracy_against_ground_truth",
        passed=short.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "macro_f1": dg.MetadataValue.md(scores.to_markdown(index=False, floatfmt=".3f")),
            "records": len(compared),
            "verdict": "the goals are reached"
            if short.empty
            else f"below the goals: {', '.join(short['language'])}",
        },
    )


NEGATIVE_SPIKES = dg.AssetKey(["marts", "rpt_feedback_negative_spikes"])


@dg.asset_check(
    asset=NEGATIVE_SPIKES,
    name="negative_spike_on_as_of_date",
    description="Warns when a topic's negative texts in a channel spiked on the run's as-of "
    "date (rpt_feedback_negative_spikes.is_spike), listing each spike.",
)
def negative_spike_on_as_of_date(
    context: dg.AssetCheckExecutionContext,
    settings: SettingsResource,
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    as_of = settings.scope(context).as_of_date
    with warehouse.connect() as con:
        spikes = con.execute(
            f"select topic, channel, negative_texts, round(spike_limit, 2) as spike_limit "
            f"from {_table(NEGATIVE_SPIKES)} where feedback_date = ? and is_spike "
            "order by negative_texts desc, topic, channel",
            [as_of],
        ).df()
    listed = ", ".join(
        f"{row.topic} in {row.channel} ({row.negative_texts} > {row.spike_limit})"
        for row in spikes.itertuples()
    )
    return dg.AssetCheckResult(
        passed=spikes.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"negative spikes on {as_of}: {listed}"
        if listed
        else f"no negative spike on {as_of}",
        metadata={
            "as_of_date": as_of.isoformat(),
            "spikes": dg.MetadataValue.md(spikes.to_markdown(index=False)) if listed else "none",
        },
    )
