"""Keeping `ml.feedback_text_scores` and `ml.feedback_text_topics` in step with the
texts: only records that are new, whose text changed, or that an older lexicon scored
are scored again; scores of records gone (or forgotten) go. A record's scores depend on
its text and the lexicon alone, so a warehouse built in nightly increments holds the
same rows as one built in one run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from orchestration.text.scoring import lexicon_fingerprint, score_texts

SCORES = "ml.feedback_text_scores"
TOPICS = "ml.feedback_text_topics"
# Texts scored per batch: bounds the memory of a first build on a large warehouse.
BATCH_ROWS = 200_000


@dataclass(frozen=True)
class RescoreSummary:
    lexicon_version: str
    texts: int
    scored: int
    removed: int


def read_lexicon(
    con: duckdb.DuckDBPyConnection, keywords_table: str, terms_table: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two seeds, in a fixed row order (a table has none of its own)."""
    keywords = con.execute(
        f"select topic, language, keyword from {keywords_table} order by all"
    ).df()
    terms = con.execute(
        f"select language, term, kind, valence from {terms_table} order by all"
    ).df()
    return keywords, terms


def rescore_changed_texts(
    con: duckdb.DuckDBPyConnection, texts_table: str, keywords_table: str, terms_table: str
) -> RescoreSummary:
    """Bring the score tables up to date with `texts_table` (int_feedback_texts), in one
    transaction."""
    keywords, terms = read_lexicon(con, keywords_table, terms_table)
    version = lexicon_fingerprint(keywords, terms)
    con.execute("begin transaction")
    try:
        removed = con.execute(
            f"""
            delete from {SCORES} as scores
            where lexicon_version <> $version or not exists (
                select 1 from {texts_table} as texts
                where texts.touchpoint_key = scores.touchpoint_key
                    and texts.text_hash = scores.text_hash
            )
            """,
            {"version": version},
        ).fetchone()[0]
        con.execute(
            f"delete from {TOPICS} where touchpoint_key not in "
            f"(select touchpoint_key from {SCORES})"
        )
        con.execute(
            f"""
            create or replace temp table pending_texts as
            select row_number() over (order by touchpoint_key) as n,
                touchpoint_key, text_hash, feedback_text
            from {texts_table} as texts
            where not exists (
                select 1 from {SCORES} as scores
                where scores.touchpoint_key = texts.touchpoint_key
            )
            """
        )
        pending = con.execute("select count(*) from pending_texts").fetchone()[0]
        for start in range(0, pending, BATCH_ROWS):
            batch = con.execute(
                "select touchpoint_key, text_hash, feedback_text from pending_texts "
                "where n > $start and n <= $stop order by n",
                {"start": start, "stop": start + BATCH_ROWS},
            ).df()
            _insert(con, batch, score_texts(batch["feedback_text"], keywords, terms), version)
        con.execute("drop table pending_texts")
        total = con.execute(f"select count(*) from {texts_table}").fetchone()[0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return RescoreSummary(version, total, pending, removed)


def _insert(
    con: duckdb.DuckDBPyConnection, batch: pd.DataFrame, scored: pd.DataFrame, version: str
) -> None:
    scores = pd.DataFrame(
        {
            "touchpoint_key": batch["touchpoint_key"],
            "text_hash": batch["text_hash"],
            "lexicon_version": version,
            "language": scored["language"],
            "sentiment_score": scored["sentiment_score"].astype(float),
            "sentiment_label": scored["sentiment_label"],
            "primary_topic": scored["primary_topic"],
        }
    )
    topics = (
        pd.DataFrame({"touchpoint_key": batch["touchpoint_key"], "topic": scored["topics"]})
        .explode("topic")
        .dropna()
    )
    for table, frame in ((SCORES, scores), (TOPICS, topics)):
        con.register("scored_frame", frame)
        con.execute(f"insert into {table} by name select * from scored_frame")
        con.unregister("scored_frame")


TEXT_SOURCES = ("survey_responses", "service_tickets", "social_interactions")


def scored_against_truth(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> pd.DataFrame:
    """The scored records the generator's ground truth labels (`text_language`,
    `text_sentiment`, `text_topic` in records/<source>.parquet), one row per record,
    with the truth beside the scores; empty without such a ground truth (real data)."""
    files = [
        truth_dir / "records" / f"{source}.parquet"
        for source in TEXT_SOURCES
        if (truth_dir / "records" / f"{source}.parquet").is_file()
    ]
    labelled = [
        str(path) for path in files if "text_sentiment" in {c.name for c in pq.read_schema(path)}
    ]
    if not labelled:
        return pd.DataFrame(
            columns=["language", "sentiment", "topic", "predicted_sentiment", "predicted_topic"]
        )
    # one truth per record: a record's versions and re-sent copies carry the same text
    return con.execute(
        f"""
        with truth as (
            select source || ':' || source_record_id as touchpoint_key,
                any_value(text_language) as language,
                any_value(text_sentiment) as sentiment,
                any_value(text_topic) as topic
            from read_parquet($files, union_by_name = true)
            where text_sentiment is not null and not expect_reject
            group by all
        )
        select truth.language, truth.sentiment, truth.topic,
            scores.sentiment_label as predicted_sentiment,
            scores.primary_topic as predicted_topic
        from truth
        join {SCORES} as scores using (touchpoint_key)
        order by touchpoint_key
        """,
        {"files": labelled},
    ).df()
