"""Phone numbers to E.164 with libphonenumber (the `phonenumbers` package), once per
distinct raw value: the `lookup.phone_numbers` table that staging joins.

A number is read in the numbering plan of its source's region (PHONE_REGION, or
PHONE_REGION_BY_SOURCE for a source whose system knows its country) unless it is written
with its country code. What the library cannot parse, or parses to a number that is not
valid in its plan, gets no E.164 and a `problem`: staging flags it invalid (counted in
`identity.invalid_identifiers`) and keeps it out of the identity graph; nothing is
guessed. The lookup is keyed by source and the value as delivered, so staging needs no
normalisation rule of its own, and a value is parsed once however often it recurs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

import duckdb
import pandas as pd
import phonenumbers

from orchestration.lib.contract import SOURCES
from orchestration.lib.settings import REPO_ROOT, PhoneRegions
from orchestration.lib.sql import scalar

LOOKUP_SCHEMA = "lookup"
LOOKUP_TABLE = f"{LOOKUP_SCHEMA}.phone_numbers"
# Per source: the region its values were read in and the newest raw row already read.
SCANS_TABLE = f"{LOOKUP_SCHEMA}.phone_number_scans"
# The placeholder list is normalised like a source (with the default region), so a
# blocked number compares equal to the same number as staging normalises it.
BLOCKLIST_SOURCE = "identifier_blocklist"
BLOCKLIST_SEED = REPO_ROOT / "seeds" / "identifier_blocklist.csv"

# Every contract column that carries a phone: (source, column).
PHONE_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (source.name, column.name)
    for source in SOURCES
    for column in source.columns
    if column.identifier == "phone"
)

LOOKUP_DDL = f"""
create schema if not exists {LOOKUP_SCHEMA};
create table if not exists {LOOKUP_TABLE} (
    source_name varchar not null,
    raw_value varchar not null,
    region varchar not null,
    e164 varchar,
    problem varchar
);
create table if not exists {SCANS_TABLE} (
    source_name varchar not null,
    region varchar not null,
    scanned_through timestamp
);
"""

# Why libphonenumber could not parse a value, by its error type.
PARSE_ERRORS = {
    getattr(phonenumbers.NumberParseException, name): name
    for name in (
        "INVALID_COUNTRY_CODE",
        "NOT_A_NUMBER",
        "TOO_LONG",
        "TOO_SHORT_AFTER_IDD",
        "TOO_SHORT_NSN",
    )
}

# Characters that only separate digit groups: values that differ only in them parse
# alike, so each distinct remainder is parsed once.
SEPARATORS = r"[\s\-.()]"


def _e164(key: str, region: str) -> tuple[str | None, str | None]:
    """(E.164, None) for a valid number, else (None, why)."""
    try:
        number = phonenumbers.parse(key, region)
    except phonenumbers.NumberParseException as exc:
        return None, f"not a phone number ({PARSE_ERRORS[exc.error_type]})"
    if not phonenumbers.is_valid_number(number):
        plan = phonenumbers.region_code_for_country_code(number.country_code)
        return None, f"not a valid number of country code +{number.country_code} ({plan})"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def normalize_phones(values: Iterable[str], region: str) -> pd.DataFrame:
    """raw_value, e164, problem for each distinct value, read in `region`'s plan."""
    raw = pd.DataFrame({"raw_value": pd.unique(pd.Series(list(values), dtype=object).dropna())})
    raw["key"] = raw["raw_value"].astype(str).str.replace(SEPARATORS, "", regex=True)
    distinct = pd.unique(raw["key"])
    # The library parses one value at a time: once per distinct key, not per row.
    parsed = pd.DataFrame(
        [_e164(key, region) for key in distinct], columns=["e164", "problem"], dtype=object
    ).assign(key=distinct)
    return raw.merge(parsed, on="key", how="left")[["raw_value", "e164", "problem"]]


def ensure_phone_lookup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LOOKUP_DDL)


def _blocklist_phones() -> list[str]:
    with BLOCKLIST_SEED.open(newline="") as seed:
        return [
            row["identifier_value"]
            for row in csv.DictReader(seed)
            if row["identifier_type"].strip().lower() in ("phone", "any")
        ]


def _new_values(
    con: duckdb.DuckDBPyConnection, source: str, column: str, lookback_hours: int
) -> tuple[list[str], object]:
    """Distinct values of raw rows loaded since the source's last scan (less the lookback
    window, so a clock set back loses nothing) that the lookup does not hold, and the
    newest load time read."""
    scanned = scalar(
        con, f"select max(scanned_through) from {SCANS_TABLE} where source_name = ?", [source]
    )
    since = "" if scanned is None else "and raw._ingested_at > ?::timestamp - to_hours(?)"
    params = [source] if scanned is None else [scanned, lookback_hours, source]
    rows = con.execute(
        f"""
        select distinct cast(raw.{column} as varchar)
        from raw.{source} as raw
        where raw.{column} is not null {since}
            and not exists (
                select 1 from {LOOKUP_TABLE} as known
                where known.source_name = ? and known.raw_value = cast(raw.{column} as varchar)
            )
        """,
        params,
    ).fetchall()
    newest = scalar(con, f"select max(_ingested_at) from raw.{source}")
    return [value for (value,) in rows], newest


def refresh_phone_lookup(
    con: duckdb.DuckDBPyConnection, regions: PhoneRegions, lookback_hours: int = 0
) -> dict[str, dict[str, int]]:
    """Add to the lookup the raw phone values it does not hold yet; a source whose region
    setting changed is read again whole. Returns, per source, the values added, how many
    of them got no E.164, and the values dropped for a region change."""
    ensure_phone_lookup(con)
    summary = {}
    for source, column in (*PHONE_COLUMNS, (BLOCKLIST_SOURCE, None)):
        region = regions.for_source(source)
        # Read in another region before: every value of the source is read again.
        dropped = scalar(
            con,
            f"delete from {LOOKUP_TABLE} where source_name = ? and region <> ?",
            [source, region],
        )
        con.execute(
            f"delete from {SCANS_TABLE} where source_name = ? and region <> ?", [source, region]
        ).fetchall()
        if column is None:
            known = {
                value
                for (value,) in con.execute(
                    f"select raw_value from {LOOKUP_TABLE} where source_name = ?", [source]
                ).fetchall()
            }
            values, newest = [v for v in _blocklist_phones() if v not in known], None
        else:
            values, newest = _new_values(con, source, column, lookback_hours)
        found = normalize_phones(values, region).assign(source_name=source, region=region)
        con.register("found", found)
        con.execute(
            f"insert into {LOOKUP_TABLE} by name "
            "select source_name, raw_value, region, e164, problem from found"
        ).fetchall()
        con.unregister("found")
        if newest is not None:
            con.execute(f"delete from {SCANS_TABLE} where source_name = ?", [source]).fetchall()
            con.execute(
                f"insert into {SCANS_TABLE} values (?, ?, ?)", [source, region, newest]
            ).fetchall()
        summary[source] = {
            "added": len(found),
            "invalid": int(found["e164"].isna().sum()),
            "dropped_for_region_change": dropped,
        }
    return summary
