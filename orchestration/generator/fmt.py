"""Vectorised formatting of generated numbers into the strings landing files carry.

Everything works on whole numpy/pyarrow arrays: no Python loop ever sees a row.
"""

from __future__ import annotations

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


def phone_variants(rng: np.random.Generator, digits: pa.Array) -> pa.Array:
    """10-digit US numbers written the ways people type them."""

    def part(a: int, b: int) -> pa.Array:
        return pc.utf8_slice_codeunits(digits, a, b)

    area, exch, line = part(0, 3), part(3, 6), part(6, 10)
    variants = (
        join("+1 ", area, "-", exch, "-", line),
        join("(", area, ") ", exch, " ", line),
        digits,
        join(area, ".", exch, ".", line),
        join("+1", digits),
        join(area, "-", exch, "-", line),
    )
    choice = rng.choice(len(variants), size=len(digits), p=[0.25, 0.15, 0.25, 0.1, 0.15, 0.1])
    return pc.choose(pa.array(choice), *variants)


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
