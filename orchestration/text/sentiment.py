"""Sentiment of feedback texts: a score in -1..1 and its label.

English goes through VADER (Hutto & Gilbert 2014), its lexicon updated from the English
rows of the seed feedback_sentiment_terms. Chinese goes through a lexicon scorer built the
same way from the Chinese rows: terms with a valence on VADER's -4..4 scale, negators that
flip and damp the term after them, intensifiers that scale it, a contrast word that weighs
what follows it, and VADER's normalisation and label thresholds, so that scores of both
languages read alike.

In both languages a question that only asks ("Does it run small?", "请问什么时候发货？")
carries no stance, whatever its words, unless it is rhetorical ("Why is it still not
here?", "怎么这么慢？"); see ENQUIRY."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from orchestration.text.patterns import chinese_term, english_term, trie_pattern

# VADER's recommended thresholds on its compound score
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05
# VADER's normalisation: x / sqrt(x^2 + alpha), alpha approximating the largest expected sum
NORMALISATION_ALPHA = 15
# VADER's weights around "but" and per exclamation mark (up to four)
BEFORE_CONTRAST, AFTER_CONTRAST = 0.5, 1.5
EXCLAMATION_WEIGHT, MAX_EXCLAMATIONS = 0.292, 4

# A question mark asks about its own clause only: "Love it, does it come in blue?" keeps its
# praise, and Chinese joins whole complaints with commas before a closing question.
CLAUSE_END = ".。!！?？;；,，\n"
# Markers of a question that complains rather than asks ("why", "怎么这么慢"; not 怎么样)
RHETORICAL = (
    r"\bwhy\b|\bhow come\b|\bseriously\b"
    r"|为什么|为啥|怎么(?!样)|咋(?!样)|凭什么|难道|到底|居然|竟然|究竟"
)
# A clause that ends in a question mark (or, in Chinese, in 吗) and has no rhetorical marker.
ENQUIRY = re.compile(
    rf"(?:^|(?<=[{CLAUSE_END}]))(?![^{CLAUSE_END}]*(?:{RHETORICAL}))"
    rf"[^{CLAUSE_END}]+(?:[?？]+|吗(?=\s*(?:[{CLAUSE_END}]|$)))",
    re.IGNORECASE,
)

# "doesn't", "didnt", "cannot" -> "does not", "did not", "can not": VADER negates either way,
# and the seed's phrases are then written once, with "not".
NEGATED_VERB = re.compile(
    r"\b(ca|wo|sha|ai|can|do|does|did|is|was|are|were|have|has|had|could|would|should|must"
    r"|need|might)(?:n'?t|not)\b",
    re.IGNORECASE,
)
IRREGULAR_NEGATED_VERBS = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}

# Chinese: a negator or intensifier modifies a term at most this many characters later, in
# the same clause.
MODIFIER_REACH = 3
CLAUSE_BREAK = re.compile(r"[，,。.！!？?；;：:、\s~～…]")
# 只是 and 就是 as in 东西不错，就是有点贵 ("nice, it's just a bit dear")
CONTRASTS = ("但", "但是", "可是", "不过", "然而", "却", "只是", "就是")


def label(score: pd.Series) -> pd.Series:
    """`positive`, `negative` or `neutral` by VADER's thresholds."""
    labels = np.select(
        [score >= POSITIVE_FROM, score <= NEGATIVE_FROM], ["positive", "negative"], "neutral"
    )
    return pd.Series(labels, index=score.index)


def drop_enquiries(texts: pd.Series) -> pd.Series:
    """The texts without their ENQUIRY clauses."""
    return texts.str.replace(ENQUIRY, " ", regex=True)


class EnglishScorer:
    """VADER with the seed's English terms. VADER looks words up one whitespace token at
    a time, so a phrase (`never arrived`) or a prefix term (`crash*`) is first rewritten
    into one token - the phrase's words joined by `_`, the prefix itself - and that token
    gets the seed's valence; a single word just sets (or overrides) VADER's own."""

    def __init__(self, terms: pd.DataFrame):
        self._analyzer = SentimentIntensityAnalyzer()
        lexicon = dict(zip(terms["term"].str.lower(), terms["valence"].astype(float), strict=True))
        rewritten = [term for term in lexicon if " " in term or term.endswith("*")]
        # each term's path in the trie ends in an empty group named after it, so a match's
        # `lastgroup` tells which term it is
        self._tokens = {f"t{i}": _token(term) for i, term in enumerate(rewritten)}
        marked = (
            (atoms, rf"{ending}(?P<t{i}>)")
            for i, (atoms, ending) in enumerate(map(english_term, rewritten))
        )
        self._rewrite = (
            re.compile(rf"(?<!\w){trie_pattern(marked)}", re.IGNORECASE) if rewritten else None
        )
        self._analyzer.lexicon.update({_token(term): valence for term, valence in lexicon.items()})

    def compound(self, texts: pd.Series) -> pd.Series:
        prepared = drop_enquiries(texts.str.replace("’", "'", regex=False))
        prepared = prepared.str.replace(NEGATED_VERB, _expand_negation, regex=True)
        if self._rewrite is not None:
            prepared = prepared.str.replace(
                self._rewrite, lambda match: self._tokens[match.lastgroup], regex=True
            )
        scores = [self._analyzer.polarity_scores(text)["compound"] for text in prepared]
        return pd.Series(scores, index=texts.index, dtype=float)


def _token(term: str) -> str:
    """The one VADER token a seed term is looked up as: `never arriv*` -> `never_arriv`."""
    return "_".join(term.rstrip("*").split())


def _expand_negation(match: re.Match) -> str:
    verb = match.group(1).lower()
    return f"{IRREGULAR_NEGATED_VERBS.get(verb, verb)} not"


class ChineseScorer:
    """A lexicon scorer for Chinese in VADER's manner. One regular expression of every
    term, negator, intensifier and contrast word, longest first, reads a text left to right
    (so 不错 is one positive term, not 不 + 错). Each term's valence is multiplied by the
    negators (VADER's N_SCALAR, -0.74: flipped and damped) and intensifiers (their
    multiplier) that precede it within MODIFIER_REACH characters of its clause; an
    intensifier after a negator softens instead (不太好 is milder than 不好). A word that is
    both a term and an intensifier (好) intensifies a term right after it (好慢) and is a
    term otherwise. Terms before the first contrast word (但是, 不过...) count half, terms
    after it one and a half, as VADER does around "but"."""

    def __init__(self, terms: pd.DataFrame):
        by_kind = {
            kind: dict(zip(rows["term"].str.lower(), rows["valence"].astype(float), strict=True))
            for kind, rows in terms.groupby("kind")
        }
        self._valence = by_kind.get("term", {})
        self._negators = by_kind.get("negator", {})
        self._intensifiers = by_kind.get("intensifier", {})
        words = {*self._valence, *self._negators, *self._intensifiers, *CONTRASTS}
        self._scan = re.compile(trie_pattern(map(chinese_term, words)), re.IGNORECASE)

    def compound(self, texts: pd.Series) -> pd.Series:
        prepared = drop_enquiries(texts)
        sums = np.array([self._valence_sum(text) for text in prepared], dtype=float)
        exclamations = prepared.str.count("[!！]").clip(upper=MAX_EXCLAMATIONS).to_numpy()
        sums += np.sign(sums) * exclamations * EXCLAMATION_WEIGHT
        compound = np.clip(sums / np.sqrt(sums * sums + NORMALISATION_ALPHA), -1, 1)
        return pd.Series(np.round(compound, 4), index=texts.index)

    def _valence_sum(self, text: str) -> float:
        matches = list(self._scan.finditer(text))
        sentiments: list[tuple[int, float]] = []
        modifiers: list[tuple[int, float, bool]] = []  # (end, factor, is_negator)
        contrast_at = None
        for i, match in enumerate(matches):
            word = match.group().lower()
            if word in CONTRASTS:
                contrast_at = match.start() if contrast_at is None else contrast_at
                modifiers.clear()
            elif word in self._valence and not (
                word in self._intensifiers and self._term_adjoins(matches, i)
            ):
                valence = self._valence[word] * self._modification(text, match, modifiers)
                modifiers.clear()
                if valence:
                    sentiments.append((match.start(), valence))
            elif word in self._negators:
                modifiers.append((match.end(), self._negators[word], True))
            else:
                modifiers.append((match.end(), self._intensifiers[word], False))
        if contrast_at is None:
            return sum(valence for _, valence in sentiments)
        return sum(
            valence * (BEFORE_CONTRAST if start < contrast_at else AFTER_CONTRAST)
            for start, valence in sentiments
        )

    def _term_adjoins(self, matches: list[re.Match], i: int) -> bool:
        return (
            i + 1 < len(matches)
            and matches[i + 1].start() == matches[i].end()
            and bool(self._valence.get(matches[i + 1].group().lower()))
        )

    @staticmethod
    def _modification(text: str, term: re.Match, modifiers: list[tuple[int, float, bool]]) -> float:
        factor, negated = 1.0, False
        for end, modifier, is_negator in modifiers:
            if term.start() - end > MODIFIER_REACH or CLAUSE_BREAK.search(text, end, term.start()):
                continue
            if is_negator:
                factor *= modifier
                negated = True
            else:
                factor *= 1 / modifier if negated else modifier
        return factor
