"""Topics of a feedback text from the keyword seed (feedback_topic_keywords).

English keywords match case-insensitively on word boundaries (`late` is not in
"chocolate"), a trailing `*` matching any word ending (`deliver*`: delivered, delivery);
Chinese keywords, like Chinese text, have no word boundaries and match as substrings. Each
topic and language is one regular expression counted over all texts at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.text.patterns import chinese_term, english_term, trie_pattern

OTHER = "other"


def topic_order(topic_keywords: pd.DataFrame) -> list[str]:
    """The topics in alphabetical order, the order that breaks ties: a warehouse table
    keeps no row order of its seed, so the seed's own order cannot be the rule."""
    return sorted(set(topic_keywords["topic"]))


def match_topics(
    texts: pd.Series, language: pd.Series, topic_keywords: pd.DataFrame
) -> pd.DataFrame:
    """`primary_topic` (most keyword hits, ties to the first in topic_order, `other`
    without any hit) and `topics` (sorted list of every topic hit, or [`other`]) per text."""
    topics = topic_order(topic_keywords)
    names = np.array([*topics, OTHER], dtype=object)
    hits = np.zeros((len(texts), len(names)), dtype=np.int64)
    lowered = texts.str.lower()
    for lang, keywords in topic_keywords.groupby("language", sort=False):
        in_language = (language == lang).to_numpy()
        if not in_language.any():
            continue
        seed_term = chinese_term if lang == "zh" else english_term
        for topic, rows in keywords.groupby("topic", sort=False):
            pattern = trie_pattern(seed_term(k) for k in rows["keyword"].str.lower())
            # English keywords start a word (checked once, before the trie)
            pattern = pattern if lang == "zh" else rf"(?<!\w){pattern}"
            hits[in_language, topics.index(topic)] = (
                lowered[in_language].str.count(pattern).to_numpy()
            )
    hits[:, -1] = hits[:, :-1].max(axis=1, initial=0) == 0
    alphabetical = np.argsort(names)
    sorted_names = names[alphabetical]
    return pd.DataFrame(
        {
            # argmax takes the first of equal counts: the first in topic_order
            "primary_topic": names[hits.argmax(axis=1)],
            "topics": [list(sorted_names[row]) for row in hits[:, alphabetical] > 0],
        },
        index=texts.index,
    )
