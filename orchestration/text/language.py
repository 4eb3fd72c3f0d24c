"""Language of a feedback text by its script.

The warehouse scores two languages that share no script, so counting characters tells them
apart, also in two-word texts where statistical detectors guess: Han characters mean
Chinese, Latin letters English. Other languages are not scored as such: one written in
Latin letters (French, Spanish...) counts as English and mostly scores neutral, one with
Han characters (Japanese kanji) as Chinese, and one with neither (Korean, Cyrillic...)
is `und` like a text without any letter (digits, emoji)."""

from __future__ import annotations

import numpy as np
import pandas as pd

HAN = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
LATIN = r"[A-Za-z\u00c0-\u024f]"
# A Chinese word is about 1.5 characters and an English one about 5 letters, so one Han
# character weighs about three Latin letters: "APP闪退" is Chinese, an English sentence
# quoting one Chinese colour name is English.
HAN_WEIGHT = 3


def detect_language(texts: pd.Series) -> pd.Series:
    """`en`, `zh` or `und` per text, same index."""
    texts = texts.fillna("").astype(str)
    han = texts.str.count(HAN)
    latin = texts.str.count(LATIN)
    language = np.select(
        [(han > 0) & (han * HAN_WEIGHT >= latin), latin > 0], ["zh", "en"], default="und"
    )
    return pd.Series(language, index=texts.index)
