"""Vectorised formatting of generated numbers into the strings landing files carry.

Everything works on whole numpy/pyarrow arrays: no Python loop ever sees a row.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL = pa.scalar(None, pa.string())
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

# Timestamp styles: suffix written after the local time, and the offset (seconds) that
# local time is shifted by. A naive value is UTC per the contract.
TS_SUFFIX = ("Z", "+00:00", "-05:00", "-08:00", "+01:00", "", "")
TS_OFFSET = np.array([0, 0, -5 * 3600, -8 * 3600, 3600, 0, 0], dtype=np.int64)
TS_SPACE = 6  # naive with a space instead of `T`


def join(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and literals; null if any part is null."""
    return pc.binary_join_element_wise(*parts, "")


def text(values) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def nulls_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """`values` with null where `mask` is true."""
    return pc.if_else(pa.array(mask), NULL, values)


def pick(choices, index: np.ndarray) -> pa.Array:
    """`choices[index]` as a string array (lookup of small vocabularies)."""
    return pc.take(pa.array(list(choices), pa.string()), pa.array(np.asarray(index, np.int64)))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers like `O0000012345`: a prefix and a zero-padded number."""
    return join(prefix, pc.utf8_lpad(text(np.asarray(numbers, dtype=np.int64)), width, "0"))


def hex_ids(rng: np.random.Generator, n: int, nchars: int, prefix: str = "") -> pa.Array:
    """`n` random lower-case hex strings of `nchars` characters (`nchars` even)."""
    raw = np.frombuffer(rng.bytes(n * nchars // 2), dtype=np.uint8).reshape(n, nchars // 2)
    nibbles = np.empty((n, nchars), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 15
    chars = HEX[nibbles].view(f"S{nchars}").ravel()
    out = pc.cast(pa.array(chars, pa.binary()), pa.string())
    return join(prefix, out) if prefix else out


def timestamps(epoch_seconds: np.ndarray, style: np.ndarray) -> pa.Array:
    """ISO-8601 strings: `Z`, an offset (local time shifted to match), or naive UTC."""
    local = np.asarray(epoch_seconds, dtype=np.int64) + TS_OFFSET[style]
    base = pc.strftime(pa.array(local, pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
    spaced = pa.array(style == TS_SPACE)
    base = pc.if_else(spaced, pc.replace_substring(base, "T", " "), base)
    return join(base, pick(TS_SUFFIX, style))


def ts_styles(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """Random timestamp styles (indexes into TS_SUFFIX) with the given weights."""
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(TS_SUFFIX), size=n, p=w / w.sum())


def dates(epoch_days: np.ndarray) -> pa.Array:
    arr = pa.array(np.asarray(epoch_days, dtype=np.int64).astype("datetime64[D]"))
    return pc.strftime(arr, format="%Y-%m-%d")


def money(cents: np.ndarray) -> pa.Array:
    """Integer cents to a decimal string with exactly 2 decimals (`-12.05`)."""
    cents = np.asarray(cents, dtype=np.int64)
    mag = np.abs(cents)
    return join(
        pick(("", "-"), (cents < 0).astype(np.int8)),
        text(mag // 100),
        ".",
        pc.utf8_lpad(text(mag % 100), 2, "0"),
    )


def bools(values: np.ndarray) -> pa.Array:
    return pick(("false", "true"), np.asarray(values, dtype=np.int8))


# How often each form of a number is typed (forms in `_us_phone_forms`, `_cn_phone_forms`).
US_PHONE_FORM_P = (0.25, 0.15, 0.25, 0.1, 0.15, 0.1)
CN_PHONE_FORM_P = (0.15, 0.05, 0.05, 0.4, 0.15, 0.2)
INTERNATIONAL_FORMS = (0, 4)  # the forms with the country code, in both lists


def _digit_groups(digits: pa.Array, *cuts: int) -> list[pa.Array]:
    """The digits between successive cut positions: (0, 3, 6, 10) -> 3, 3 and 4 digits."""
    return [pc.utf8_slice_codeunits(digits, a, b) for a, b in itertools.pairwise(cuts)]


def _us_phone_forms(digits: pa.Array) -> tuple[pa.Array, ...]:
    """10-digit US numbers: `+1 415-200-1234`, `(415) 200 1234`, ... ."""
    area, exch, line = _digit_groups(digits, 0, 3, 6, 10)
    return (
        join("+1 ", area, "-", exch, "-", line),
        join("(", area, ") ", exch, " ", line),
        digits,
        join(area, ".", exch, ".", line),
        join("+1", digits),
        join(area, "-", exch, "-", line),
    )


def _cn_phone_forms(digits: pa.Array) -> tuple[pa.Array, ...]:
    """11-digit Chinese mobiles: `+86 138 0013 8000`, `86-138-0013-8000`, ... ."""
    prefix, block, line = _digit_groups(digits, 0, 3, 7, 11)
    return (
        join("+86 ", prefix, " ", block, " ", line),
        join("86-", prefix, "-", block, "-", line),
        join("(", prefix, ") ", block, "-", line),
        digits,
        join("+86", digits),
        join(prefix, " ", block, " ", line),
    )


def phone_variants(
    rng: np.random.Generator,
    extra_rng: np.random.Generator,
    digits: pa.Array,
    chinese: np.ndarray,
    foreign: np.ndarray,
) -> pa.Array:
    """National numbers written the ways people type them: US numbers, or Chinese mobiles
    where `chinese`. A `foreign` plan (not the data set's home country's) only in a form
    with its country code: a bare national number of it would be misread. `rng` draws
    the US forms as it always did; the rest comes from `extra_rng`."""
    n = len(digits)
    form = rng.choice(len(US_PHONE_FORM_P), size=n, p=US_PHONE_FORM_P)
    form = np.where(
        chinese, extra_rng.choice(len(CN_PHONE_FORM_P), size=n, p=CN_PHONE_FORM_P), form
    )
    form = np.where(foreign, extra_rng.choice(INTERNATIONAL_FORMS, size=n), form)
    forms = [
        pc.if_else(pa.array(chinese), cn, us)
        for us, cn in zip(_us_phone_forms(digits), _cn_phone_forms(digits), strict=True)
    ]
    return pc.choose(pa.array(form), *forms)


def gmail_alias(emails: pa.Array) -> pa.Array:
    """`first.last12@gmail.com` as `firstlast12+shop@gmail.com`: the same Gmail mailbox."""
    parts = pc.split_pattern(emails, "@")
    local = pc.replace_substring(pc.list_element(parts, 0), ".", "")
    return join(local, "+shop@", pc.list_element(parts, 1))


def email_variants(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    """Emails as typed: mostly clean, some mixed case, some with stray spaces."""
    upper = pc.utf8_upper(emails)
    variants = (
        emails,
        pc.utf8_capitalize(emails),
        upper,
        join(" ", emails),
        join(emails, "  "),
        join(" ", upper, " "),
    )
    choice = rng.choice(len(variants), size=len(emails), p=[0.8, 0.07, 0.04, 0.04, 0.03, 0.02])
    return pc.choose(pa.array(choice), *variants)


def json_escape(values: pa.Array) -> pa.Array:
    escaped = pc.replace_substring(values, "\\", "\\\\")
    return pc.replace_substring(escaped, '"', '\\"')
