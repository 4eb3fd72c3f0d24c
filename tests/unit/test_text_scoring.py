"""Feedback text scoring (orchestration/text): language by script, sentiment by VADER and
by the Chinese lexicon scorer, topics from the keyword seed, the lexicon fingerprint and
macro-F1. Expected scores are worked out by hand from VADER's rules: a sum of valences
x becomes x / sqrt(x^2 + 15), a negator multiplies by -0.74, an exclamation mark adds
0.292, "but" halves what precedes it and weighs what follows by 1.5."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from orchestration.generator.population import (
    Context,
    country_probabilities,
    make_persons,
    simulate_purchases,
)
from orchestration.generator.sources import Chunk
from orchestration.text import scoring
from orchestration.text.language import detect_language
from orchestration.text.scoring import (
    SENTIMENT_F1_GOAL,
    TOPIC_F1_GOAL,
    evaluate,
    lexicon_fingerprint,
    macro_f1,
    score_texts,
)
from orchestration.text.sentiment import ChineseScorer, EnglishScorer
from orchestration.text.topics import match_topics

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "feedback" / "labelled_comments.csv"
HALF_CN = {"CN": 0.5, "US": 0.5}
SOURCE_TEXTS = {
    "survey_responses": "comment",
    "service_tickets": "text",
    "social_interactions": "text",
}
TRUTH = ("language", "sentiment", "topic")


def vader_compound(total: float) -> float:
    return round(total / math.sqrt(total * total + 15), 4)


def terms(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["language", "term", "kind", "valence"])


def keywords(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["topic", "language", "keyword"])


def read_seed(name: str) -> pd.DataFrame:
    return pd.read_csv(REPO / "seeds" / f"{name}.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def seeds() -> tuple[pd.DataFrame, pd.DataFrame]:
    return read_seed("feedback_topic_keywords"), read_seed("feedback_sentiment_terms")


@pytest.fixture(scope="module")
def scored_by_seeds(seeds):
    def score(*texts: str) -> pd.DataFrame:
        return score_texts(pd.Series(texts), *seeds).set_index(pd.Index(texts))

    return score


# -- language ---------------------------------------------------------------------------


def test_language_by_script_with_mixed_empty_and_other_scripts():
    texts = pd.Series(
        {
            "english": "The parcel was late",
            "chinese": "快递太慢了",
            # 2 Han characters weigh 6 letters, more than the 3 of APP
            "chinese_with_brand": "APP闪退",
            # 2 Han characters (6) against 24 letters
            "english_quoting_chinese": "Ordered the 红色 one but got blue",
            "empty": "",
            "missing": None,
            "digits_and_emoji": "12345 !!! 👍",
            "cyrillic": "Спасибо",
        }
    )
    assert detect_language(texts).to_dict() == {
        "english": "en",
        "chinese": "zh",
        "chinese_with_brand": "zh",
        "english_quoting_chinese": "en",
        "empty": "und",
        "missing": "und",
        "digits_and_emoji": "und",
        "cyrillic": "und",
    }


# -- English sentiment ---------------------------------------------------------------------


def test_english_seed_terms_phrases_and_prefixes_reach_vader():
    scorer = EnglishScorer(
        terms(
            ("en", "late", "term", -2.0),
            ("en", "never arriv*", "term", -2.5),
            ("en", "crash*", "term", -2.0),
            ("en", "please", "term", 0.0),  # VADER's own 1.3, silenced
        )
    )
    texts = pd.Series(
        [
            "late",
            "It was not late",
            "It never arrived",
            "It NEVER  ARRIVES",
            "The app crashed again",
            "please",
            "I love chocolate",
        ]
    )
    assert scorer.compound(texts).tolist() == [
        vader_compound(-2.0),
        vader_compound(-2.0 * -0.74),
        vader_compound(-2.5),
        vader_compound(-2.5),
        vader_compound(-2.0),
        0.0,
        vader_compound(3.2),  # VADER's "love"; no "late" inside "chocolate"
    ]


def test_contractions_are_negations_like_not():
    scorer = EnglishScorer(terms(("en", "not receiv*", "term", -2.0)))
    texts = pd.Series(["I haven't received it", "I havent received it", "I did not receive it"])
    assert scorer.compound(texts).tolist() == [vader_compound(-2.0)] * 3


def test_english_domain_terms_of_the_seed(scored_by_seeds):
    scored = scored_by_seeds(
        "The parcel was late.",
        "The parcel was not late.",
        "My order never arrived",
        "I still haven't received my refund",
        "The app keeps crashing",
        "Lovely staff, very helpful!",
    )["sentiment_label"]
    assert scored["The parcel was late."] == "negative"
    assert scored["The parcel was not late."] != "negative"
    assert scored["My order never arrived"] == "negative"
    assert scored["I still haven't received my refund"] == "negative"
    assert scored["The app keeps crashing"] == "negative"
    assert scored["Lovely staff, very helpful!"] == "positive"


def test_a_question_that_only_asks_carries_no_stance(scored_by_seeds):
    scored = scored_by_seeds(
        "Is the quality good?",
        "Love the jacket, does it come in blue?",
        "Why is my parcel still not here?",
        "这件质量好吗？",
        "为什么这么慢？",
    )["sentiment_label"]
    assert scored["Is the quality good?"] == "neutral"
    assert scored["Love the jacket, does it come in blue?"] == "positive"
    assert scored["Why is my parcel still not here?"] == "negative"
    assert scored["这件质量好吗？"] == "neutral"
    assert scored["为什么这么慢？"] == "negative"


# -- Chinese sentiment ---------------------------------------------------------------------

CHINESE = terms(
    ("zh", "满意", "term", 2.0),
    ("zh", "慢", "term", -2.0),
    ("zh", "问题", "term", -1.0),
    ("zh", "错", "term", -1.0),
    ("zh", "不错", "term", 2.0),
    ("zh", "好", "term", 2.0),
    ("zh", "好", "intensifier", 1.4),
    ("zh", "不", "negator", -0.74),
    ("zh", "没有", "negator", -0.74),
    ("zh", "非常", "intensifier", 1.5),
    ("zh", "太", "intensifier", 1.5),
)


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("满意", 2.0),
        ("非常满意", 2.0 * 1.5),
        # the longest word wins: 不错 is a term, not 不 + 错
        ("不错", 2.0),
        ("不满意", 2.0 * -0.74),
        ("没有问题", -1.0 * -0.74),
        # an intensifier after a negator softens: "not very satisfied"
        ("不太满意", 2.0 / 1.5 * -0.74),
        ("太不满意", 2.0 * -0.74 * 1.5),
        # 好 before a term intensifies it, and is a term otherwise
        ("好慢", -2.0 * 1.4),
        ("好", 2.0),
        # a negator reaches three characters, within its clause
        ("不啊啊啊满意", 2.0 * -0.74),
        ("不啊啊啊啊满意", 2.0),
        ("不，满意", 2.0),
        # the clause after 但是 weighs 1.5, the one before 0.5
        ("慢，但是满意", -2.0 * 0.5 + 2.0 * 1.5),
        ("满意，但是慢", 2.0 * 0.5 - 2.0 * 1.5),
        ("满意！", 2.0 + 0.292),
        # a question that only asks has no stance, a rhetorical one keeps its complaint
        ("物流慢吗？", 0.0),
        ("为什么慢？", -2.0),
        ("", 0.0),
    ],
)
def test_chinese_lexicon_scorer(text, total):
    scored = ChineseScorer(CHINESE).compound(pd.Series([text]))
    assert scored.iloc[0] == pytest.approx(vader_compound(total), abs=1e-4)


def test_chinese_seed(scored_by_seeds):
    scored = scored_by_seeds(
        "不错",
        "不好",
        "没有问题",
        "满意",
        "非常满意",
        "质量很好，但是物流很慢",
        "物流很慢，但是质量很好",
    )
    label, score = scored["sentiment_label"], scored["sentiment_score"]
    assert label["不错"] == "positive"
    assert label["不好"] == "negative"
    assert label["没有问题"] != "negative"
    assert score["非常满意"] > score["满意"] > 0
    assert label["质量很好，但是物流很慢"] == "negative"
    assert label["物流很慢，但是质量很好"] == "positive"


# -- topics ----------------------------------------------------------------------------------

TOPICS = keywords(
    ("returns_refunds", "en", "refund*"),
    ("delivery", "en", "late"),
    ("delivery", "en", "deliver*"),
    ("delivery", "en", "next day"),
    ("price", "en", "price"),
    ("delivery", "zh", "快递"),
    ("price", "zh", "贵"),
)


def topics_of(texts: list[str], topic_keywords: pd.DataFrame = TOPICS) -> pd.DataFrame:
    series = pd.Series(texts)
    return match_topics(series, detect_language(series), topic_keywords).set_index(series)


def test_topics_prefixes_word_boundaries_ties_and_other():
    found = topics_of(
        [
            "Refunded at last",
            "I love chocolate",
            "Delivery was LATE",
            "Late refund",
            "Late delivery, refund please",
            "Can it come next   day?",
            "快递太贵了",
            "",
        ]
    )
    assert found.to_dict("index") == {
        "Refunded at last": {"primary_topic": "returns_refunds", "topics": ["returns_refunds"]},
        # `late` is a word, not the end of "chocolate"
        "I love chocolate": {"primary_topic": "other", "topics": ["other"]},
        "Delivery was LATE": {"primary_topic": "delivery", "topics": ["delivery"]},
        # one hit each: the first in alphabetical order
        "Late refund": {
            "primary_topic": "delivery",
            "topics": ["delivery", "returns_refunds"],
        },
        "Late delivery, refund please": {
            "primary_topic": "delivery",
            "topics": ["delivery", "returns_refunds"],
        },
        "Can it come next   day?": {"primary_topic": "delivery", "topics": ["delivery"]},
        "快递太贵了": {"primary_topic": "delivery", "topics": ["delivery", "price"]},
        "": {"primary_topic": "other", "topics": ["other"]},
    }


def test_ties_do_not_depend_on_the_seed_row_order():
    # a warehouse table keeps no row order: ties go alphabetically whatever the order
    for seed in (TOPICS, TOPICS.iloc[::-1]):
        assert topics_of(["Late refund"], seed).loc["Late refund", "primary_topic"] == "delivery"


# -- score_texts ---------------------------------------------------------------------------


def test_score_texts_keeps_the_index_and_scores_each_distinct_text_once(monkeypatch, seeds):
    vader_calls, chinese_calls = [], []
    polarity_scores = SentimentIntensityAnalyzer.polarity_scores
    valence_sum = ChineseScorer._valence_sum
    monkeypatch.setattr(
        SentimentIntensityAnalyzer,
        "polarity_scores",
        lambda self, text: vader_calls.append(text) or polarity_scores(self, text),
    )
    monkeypatch.setattr(
        ChineseScorer,
        "_valence_sum",
        lambda self, text: chinese_calls.append(text) or valence_sum(self, text),
    )
    texts = pd.Series(
        ["The parcel was late", "快递太慢了", None, "The parcel was late", "快递太慢了", ""],
        index=[10, 11, 12, 13, 14, 15],
    )
    scored = score_texts(texts, *seeds)
    assert list(scored.columns) == [
        "language",
        "sentiment_score",
        "sentiment_label",
        "primary_topic",
        "topics",
    ]
    assert list(scored.index) == [10, 11, 12, 13, 14, 15]
    assert len(vader_calls) == 2  # the English text and the empty one (missing reads as empty)
    assert len(chinese_calls) == 1
    assert scored.loc[10].to_dict() == scored.loc[13].to_dict()
    assert scored.loc[11].to_dict() == scored.loc[14].to_dict()
    assert (
        scored.loc[12].to_dict()
        == scored.loc[15].to_dict()
        == {
            "language": "und",
            "sentiment_score": 0.0,
            "sentiment_label": "neutral",
            "primary_topic": "other",
            "topics": ["other"],
        }
    )
    assert scored.loc[10, "primary_topic"] == "delivery"
    assert scored.loc[11, "language"] == "zh"


# -- fingerprint and accuracy ------------------------------------------------------------------


def test_fingerprint_follows_the_seeds_and_the_scorer(monkeypatch):
    lexicon = terms(("en", "late", "term", -2.0), ("zh", "不", "negator", -0.74))
    base = lexicon_fingerprint(TOPICS, lexicon)
    assert lexicon_fingerprint(TOPICS, lexicon.iloc[::-1]) == base  # a table has no row order
    changed_keyword = TOPICS.replace({"keyword": {"late": "delayed"}})
    assert lexicon_fingerprint(changed_keyword, lexicon) != base
    changed_valence = lexicon.replace({"valence": {-2.0: -1.5}})
    assert lexicon_fingerprint(TOPICS, changed_valence) != base
    assert lexicon_fingerprint(TOPICS.iloc[::-1], lexicon) == base
    monkeypatch.setattr(scoring, "SCORER_VERSION", scoring.SCORER_VERSION + "-next")
    assert lexicon_fingerprint(TOPICS, lexicon) != base


def test_macro_f1_over_the_labels_of_the_truth():
    truth = pd.Series(["a", "a", "b", "b"])
    # a: precision 1, recall 1/2 -> 2/3; b: precision 2/3, recall 1 -> 4/5
    assert macro_f1(truth, pd.Series(["a", "b", "b", "b"])) == pytest.approx((2 / 3 + 4 / 5) / 2)
    # c is no label of the truth: it only costs b its recall
    assert macro_f1(pd.Series(["a", "b"]), pd.Series(["a", "c"])) == pytest.approx(0.5)


def test_evaluate_per_language():
    frame = pd.DataFrame(
        {
            "language": ["en", "en", "zh", "zh"],
            "sentiment": ["positive", "negative", "neutral", "neutral"],
            "predicted_sentiment": ["positive", "negative", "neutral", "positive"],
            "topic": ["price", "staff", "other", "other"],
            "predicted_topic": ["price", "price", "other", "other"],
        }
    )
    result = evaluate(frame).set_index("language")
    assert result["records"].to_dict() == {"en": 2, "zh": 2}
    assert result.loc["en", "sentiment_macro_f1"] == pytest.approx(1.0)
    # price: precision 1/2, recall 1 -> 2/3; staff: 0
    assert result.loc["en", "topic_macro_f1"] == pytest.approx(1 / 3)
    # neutral: precision 1, recall 1/2 -> 2/3
    assert result.loc["zh", "sentiment_macro_f1"] == pytest.approx(2 / 3)
    assert result.loc["zh", "topic_macro_f1"] == pytest.approx(1.0)


# Floors a little below the macro-F1 the seeds reached on the hand-labelled fixture
# (en 0.92 / 0.86, zh 0.90 / 0.92 for sentiment / topic): a lexicon edit that loses
# accuracy fails here.
FIXTURE_FLOORS = {
    "en": {"sentiment_macro_f1": 0.88, "topic_macro_f1": 0.83},
    "zh": {"sentiment_macro_f1": 0.86, "topic_macro_f1": 0.89},
}


def test_hand_labelled_fixture_stays_above_its_floors(seeds):
    fixture = pd.read_csv(FIXTURE, keep_default_na=False)
    scored = score_texts(fixture["text"], *seeds)
    result = evaluate(
        fixture.assign(
            predicted_sentiment=scored["sentiment_label"], predicted_topic=scored["primary_topic"]
        )
    ).set_index("language")
    for language, floors in FIXTURE_FLOORS.items():
        for metric, floor in floors.items():
            assert result.loc[language, metric] >= floor, (language, metric)


def test_the_generators_texts_reach_the_goals_in_both_languages(seeds):
    """Comments, tickets and posts of 10,000 generated people (half in China) against the
    labels the generator wrote them from: the goals of issue 15 per language."""
    ctx = Context(7, 10_000, 365, date(2026, 6, 30), 10_000, country_probabilities(HALF_CN))
    rng = ctx.rng(0, 0)
    persons = make_persons(ctx, rng, 0, ctx.customers)
    chunk = Chunk(ctx, 0, persons, simulate_purchases(ctx, rng, persons))
    frames = []
    for source, column in SOURCE_TEXTS.items():
        batch = getattr(chunk, source)()
        frames.append(
            pd.DataFrame(
                {
                    "text": batch.columns[column].to_pandas(),
                    **{k: batch.truth[f"text_{k}"].to_pandas() for k in TRUTH},
                }
            ).dropna(subset=["text"])
        )
    labelled = pd.concat(frames, ignore_index=True)
    scored = score_texts(labelled["text"], *seeds)
    assert (scored["language"] == labelled["language"]).all()
    result = evaluate(
        labelled.assign(
            predicted_sentiment=scored["sentiment_label"], predicted_topic=scored["primary_topic"]
        )
    ).set_index("language")
    for language in ("en", "zh"):
        assert result.loc[language, "records"] > 1000
        assert result.loc[language, "sentiment_macro_f1"] >= SENTIMENT_F1_GOAL, result
        assert result.loc[language, "topic_macro_f1"] >= TOPIC_F1_GOAL, result
