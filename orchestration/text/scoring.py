"""Scores of feedback texts - language, sentiment, topics - and their accuracy against
hand or generator labels. Pure pandas/numpy/vaderSentiment (scikit-learn for F1); the
asset in orchestration/defs/feedback and orchestration/text/store.py wrap it."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version

import pandas as pd
from sklearn.metrics import f1_score

from orchestration.text.language import detect_language
from orchestration.text.sentiment import ChineseScorer, EnglishScorer, label
from orchestration.text.topics import match_topics

# Raise when a change of this package changes scores: stored scores are then redone.
SCORER_VERSION = "1"
# Macro-F1 per language that scores against a ground truth should reach (a warning below).
# The goals of issue 15.
SENTIMENT_F1_GOAL = 0.85
TOPIC_F1_GOAL = 0.80

COLUMNS = ["language", "sentiment_score", "sentiment_label", "primary_topic", "topics"]


def score_texts(
    texts: pd.Series, topic_keywords: pd.DataFrame, sentiment_terms: pd.DataFrame
) -> pd.DataFrame:
    """`language`, `sentiment_score` (-1..1), `sentiment_label`, `primary_topic` and
    `topics` (a sorted list of topic names, which DuckDB reads as a list and
    `DataFrame.explode` turns into rows) per text, same index. Each distinct text is
    scored once; a missing text scores like an empty one (`und`, neutral, `other`)."""
    texts = texts.fillna("").astype(str)
    distinct = pd.Series(texts.unique())
    language = detect_language(distinct)
    score = pd.Series(0.0, index=distinct.index)
    chinese = language == "zh"
    # `und` texts go through VADER too: their emoji and emoticons are all they can say
    for scorer, selected, seed_language in (
        (EnglishScorer, ~chinese, "en"),
        (ChineseScorer, chinese, "zh"),
    ):
        if selected.any():
            lexicon = sentiment_terms[sentiment_terms["language"] == seed_language]
            score[selected] = scorer(lexicon).compound(distinct[selected])
    scored = pd.concat(
        [
            pd.DataFrame(
                {"language": language, "sentiment_score": score, "sentiment_label": label(score)}
            ),
            match_topics(distinct, language, topic_keywords),
        ],
        axis=1,
    )
    scored = scored.iloc[pd.Index(distinct).get_indexer(texts)]
    return scored.set_axis(texts.index)[COLUMNS]


def lexicon_fingerprint(topic_keywords: pd.DataFrame, sentiment_terms: pd.DataFrame) -> str:
    """SHA-256 of everything scores depend on besides the text: the seed rows (sorted, so
    that a table's arbitrary row order does not matter), SCORER_VERSION and the version
    of VADER, whose own lexicon ships in its package."""
    keywords = sorted(topic_keywords[["topic", "language", "keyword"]].itertuples(index=False))
    terms = sorted(
        (language, term, kind, float(valence))
        for language, term, kind, valence in sentiment_terms[
            ["language", "term", "kind", "valence"]
        ].itertuples(index=False)
    )
    recipe = {
        "scorer": SCORER_VERSION,
        "vader": version("vaderSentiment"),
        "keywords": [list(row) for row in keywords],
        "terms": [list(row) for row in terms],
    }
    return hashlib.sha256(json.dumps(recipe, ensure_ascii=False).encode()).hexdigest()


def macro_f1(truth: pd.Series, predicted: pd.Series) -> float:
    """Unweighted mean F1 over the labels present in `truth` (a predicted label that the
    truth never has still costs precision of the others)."""
    labels = sorted(pd.unique(truth))
    return float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))


def evaluate(frame: pd.DataFrame) -> pd.DataFrame:
    """Macro-F1 of sentiment and of primary topic per (true) language, from a frame with
    `language`, `sentiment`, `topic` (the truth) and `predicted_sentiment`,
    `predicted_topic`."""
    rows = [
        {
            "language": language,
            "records": len(group),
            "sentiment_macro_f1": macro_f1(group["sentiment"], group["predicted_sentiment"]),
            "topic_macro_f1": macro_f1(group["topic"], group["predicted_topic"]),
        }
        for language, group in frame.groupby("language", sort=True)
    ]
    return pd.DataFrame(
        rows, columns=["language", "records", "sentiment_macro_f1", "topic_macro_f1"]
    )
