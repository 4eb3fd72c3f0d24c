"""The score tables follow the texts: new and changed texts are scored, gone ones lose
their scores, a lexicon change re-scores everything, and nightly increments end where
one build ends."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from orchestration.text.store import SCORES, TOPICS, rescore_changed_texts

KEYWORDS = [("delivery", "en", "late"), ("delivery", "zh", "快递"), ("price", "en", "price")]
TERMS = [("en", "late", "term", -2.0), ("zh", "慢", "term", -2.0), ("zh", "不", "negator", -0.74)]


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema ml; create schema intermediate; create schema reference")
    # the columns of macro create_ml_tables that the store writes
    con.execute(
        "create table ml.feedback_text_scores (touchpoint_key varchar, text_hash varchar, "
        "lexicon_version varchar, language varchar, sentiment_score double, "
        "sentiment_label varchar, primary_topic varchar)"
    )
    con.execute("create table ml.feedback_text_topics (touchpoint_key varchar, topic varchar)")
    con.execute(
        "create table intermediate.texts (touchpoint_key varchar, text_hash varchar, "
        "feedback_text varchar)"
    )
    con.execute(
        "create table reference.keywords (topic varchar, language varchar, keyword varchar)"
    )
    con.execute(
        "create table reference.terms (language varchar, term varchar, kind varchar, "
        "valence double)"
    )
    con.executemany("insert into reference.keywords values (?, ?, ?)", KEYWORDS)
    con.executemany("insert into reference.terms values (?, ?, ?, ?)", TERMS)
    yield con
    con.close()


def put_texts(con, texts: dict[str, str]) -> None:
    con.execute("delete from intermediate.texts")
    for key, text in texts.items():
        con.execute("insert into intermediate.texts values (?, md5(?), ?)", [key, text, text])


def rescore(con):
    return rescore_changed_texts(con, "intermediate.texts", "reference.keywords", "reference.terms")


def table(con, name: str) -> pd.DataFrame:
    return con.execute(f"select * from {name} order by all").df()


def test_only_new_and_changed_texts_are_scored_and_gone_ones_removed(con):
    put_texts(con, {"a": "The parcel was late again", "b": "快递太慢了", "c": "Fair price"})
    first = rescore(con)
    assert (first.texts, first.scored, first.removed) == (3, 3, 0)
    scores = table(con, SCORES).set_index("touchpoint_key")
    assert scores.loc["a", "primary_topic"] == "delivery"
    assert scores.loc["a", "sentiment_label"] == "negative"
    assert scores.loc["b", "language"] == "zh" and scores.loc["b", "primary_topic"] == "delivery"
    assert scores.loc["c", "primary_topic"] == "price"

    unchanged = rescore(con)
    assert (unchanged.scored, unchanged.removed) == (0, 0)

    # b's text changes, c is gone (or forgotten), d is new
    put_texts(con, {"a": "The parcel was late again", "b": "Lovely staff", "d": "late"})
    second = rescore(con)
    assert (second.texts, second.scored, second.removed) == (3, 2, 2)
    scores = table(con, SCORES).set_index("touchpoint_key")
    assert sorted(scores.index) == ["a", "b", "d"]
    assert scores.loc["b", "language"] == "en" and scores.loc["b", "primary_topic"] == "other"
    topics = table(con, TOPICS)
    assert set(topics["touchpoint_key"]) == {"a", "b", "d"}
    assert topics[topics["touchpoint_key"] == "b"]["topic"].tolist() == ["other"]


def test_a_lexicon_change_rescores_every_text(con):
    put_texts(con, {"a": "The parcel was late again", "b": "Fair price"})
    before = rescore(con)
    con.execute("insert into reference.keywords values ('price', 'en', 'fair')")
    after = rescore(con)
    assert after.lexicon_version != before.lexicon_version
    assert (after.scored, after.removed) == (2, 2)
    assert set(table(con, SCORES)["lexicon_version"]) == {after.lexicon_version}


def test_nightly_increments_end_where_one_build_ends(con, tmp_path):
    nights = [
        {"a": "The parcel was late again"},
        {"a": "The parcel was late again", "b": "快递太慢了"},
        {"a": "Great price", "b": "快递太慢了", "c": "late late late"},
    ]
    for texts in nights:
        put_texts(con, texts)
        rescore(con)
    incremental = (table(con, SCORES), table(con, TOPICS))
    con.execute(f"delete from {SCORES}; delete from {TOPICS}")
    rescore(con)
    pd.testing.assert_frame_equal(table(con, SCORES), incremental[0])
    pd.testing.assert_frame_equal(table(con, TOPICS), incremental[1])
