"""SQL the ingestion runs, generated from the contract (no per-source code).

Every record, whatever its file format, is first brought to one shape:
`keys` (lower-cased column names) and `vals` (text values, empty = NULL).
The type checks, domain checks and row rules below work on that shape, so CSV,
JSONL and Parquet share one validation path.
"""

from __future__ import annotations

from orchestration.lib.contract import Column, Source

# A CSV record: comma-separated fields, each either `"..."` (with `""` as an
# escaped quote, line breaks allowed) or unquoted without any `"`.
_FIELD = r'"(?:[^"]|"")*"|[^,"]*'
CSV_WELL_FORMED = f"(?:{_FIELD})(?:,(?:{_FIELD}))*"
CSV_FIELDS = f",({_FIELD})"

# ISO-8601: date, `T` or space, hh:mm[:ss[.fff]], optional `Z` or +hh[:mm] offset.
TS_PATTERN = (
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)"
    r"\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
# Plausible dates: a file may hold late or early events (the contract), but a date before
# 1900 or more than a year after its delivery date is a broken clock or a typo. (Events a
# little after their delivery day are flagged by the raw data quality suite, as warnings.)
EARLIEST_DATE = "1900-01-01"
EARLY_DATA_DAYS = 366
MONEY_PATTERN = r"[+-]?(?:\d{1,16}(?:\.\d{1,2})?|\.\d{1,2})"
INT_PATTERN = r"[+-]?\d{1,18}(?:\.0*)?"
NUMBER_PATTERN = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
BOOL_TRUE = ("true", "t", "yes", "1")
BOOL_FALSE = ("false", "f", "no", "0")

# How much of an offending value a reason quotes (a reject keeps more of its line).
REASON_VALUE_CHARS = 100


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def _quoted_value(col: str) -> str:
    """The raw value as it appears in a reason: quoted and cut to a readable length."""
    return f"'''' || left({_raw(col)}, {REASON_VALUE_CHARS}) || ''''"


def _raw(col: str) -> str:
    return ident(f"__v_{col}")


def _trimmed(col: str) -> str:
    return ident(f"__s_{col}")


def _ts_expr(col: str) -> str:
    """Naive UTC timestamp: the local part minus its offset (no session time zone involved)."""
    m = ident(f"__m_{col}")
    offset = f"replace({m}.z, ':', '')"
    minutes = (
        f"(case when left({m}.z, 1) = '-' then -1 else 1 end)"
        f" * (cast(substr({offset}, 2, 2) as integer) * 60"
        f" + coalesce(cast(nullif(substr({offset}, 4, 2), '') as integer), 0))"
    )
    naive = f"try_cast({m}.d || ' ' || {m}.t as TIMESTAMP)"
    return (
        f"case when {m}.d = '' then null when {m}.z in ('', 'Z', 'z') then {naive}"
        f" else {naive} - to_minutes({minutes}) end"
    )


def _checked_cast(value: str, pattern: str, type_: str, cast_from: str | None = None) -> str:
    """The value cast to `type_` when it has the contract's shape, else NULL (DuckDB's own
    casts accept more, e.g. `1e3` as an integer)."""
    return (
        f"case when regexp_full_match({value}, {lit(pattern)})"
        f" then try_cast({cast_from or value} as {type_}) end"
    )


def _typed(column: Column) -> tuple[str, str | None]:
    """(SQL for the typed value, what the value failed to be when it is not null but the
    typed one is)."""
    s = _trimmed(column.name)
    kind = column.type
    if kind == "ts":
        return _ts_expr(column.name), "is not an ISO-8601 timestamp"
    if kind == "date":
        return _checked_cast(s, DATE_PATTERN, "DATE"), "is not a YYYY-MM-DD date"
    if kind == "money":
        return _checked_cast(
            s, MONEY_PATTERN, "DECIMAL(18,2)"
        ), "is not a decimal amount with at most 2 decimals"
    if kind == "int":
        return _checked_cast(
            s, INT_PATTERN, "BIGINT", rf"regexp_replace({s}, '\.0*$', '')"
        ), "is not an integer"
    if kind == "number":
        return _checked_cast(s, NUMBER_PATTERN, "DOUBLE"), "is not a number"
    if kind == "bool":
        expr = (
            f"case when lower({s}) in {_in_list(BOOL_TRUE)} then true"
            f" when lower({s}) in {_in_list(BOOL_FALSE)} then false end"
        )
        return expr, "is not a boolean (true/false, 1/0, yes/no, t/f)"
    if kind == "enum":
        expr = f"case when lower({s}) in {_in_list(column.values)} then lower({s}) end"
        return expr, "is not one of " + ", ".join(column.values)
    if kind == "id":
        return s, None
    return _raw(column.name), None


def _date_bounds(name: str) -> list[tuple[str, str, str]]:
    """Checks that a typed date or timestamp is not before EARLIEST_DATE nor more than
    EARLY_DATA_DAYS after the file's delivery date (column __delivery_date)."""
    value = f"{lit(name + ': ')} || {_quoted_value(name)}"
    latest = f"__delivery_date + {EARLY_DATA_DAYS}"
    return [
        (
            name,
            f"{ident(name)} < date {lit(EARLIEST_DATE)}",
            f"{value} || {lit(f' is before {EARLIEST_DATE}')}",
        ),
        (
            name,
            f"{ident(name)}::DATE > {latest}",
            f"{value} || ' is more than {EARLY_DATA_DAYS} days after the delivery date ' "
            f"|| __delivery_date::VARCHAR",
        ),
    ]


def validation_sql(source: Source, recs_table: str) -> str:
    """Select over `recs_table` (records without a record-level error, with their file's
    `__delivery_date`) giving every contract column typed under its own name, plus
    `__err_column`/`__err_reason` for the first failing check: required/type/domain/date
    range checks in contract column order, then the source's row rules."""
    cols = source.columns
    raw_vals = [
        f"nullif(vals[list_position(keys, {lit(c.name)})], '') as {_raw(c.name)}" for c in cols
    ]
    trimmed = [f"nullif(trim({_raw(c.name)}), '') as {_trimmed(c.name)}" for c in cols]
    trimmed += [
        f"regexp_extract({_trimmed(c.name)}, {lit(TS_PATTERN)}, ['d', 't', 'z'])"
        f" as {ident('__m_' + c.name)}"
        for c in cols
        if c.type == "ts"
    ]
    typed, checks = [], []
    for c in cols:
        expr, failure = _typed(c)
        typed.append(f"{expr} as {ident(c.name)}")
        if c.required:
            checks.append(
                (c.name, f"{_trimmed(c.name)} is null", lit(f"{c.name}: required value is missing"))
            )
        if failure:
            checks.append(
                (
                    c.name,
                    f"{_trimmed(c.name)} is not null and {ident(c.name)} is null",
                    f"{lit(c.name + ': ')} || {_quoted_value(c.name)} || {lit(' ' + failure)}",
                )
            )
        if c.type in ("ts", "date"):
            checks += _date_bounds(c.name)
    for rule in source.rules:
        shown = (
            f"case when {_raw(rule.column)} is null then {lit(f' ({rule.column} is null)')}"
            f" else {lit(f' ({rule.column} = ')} || {_quoted_value(rule.column)} || ')' end"
        )
        checks.append(
            (
                rule.column,
                f"coalesce({rule.violated_when}, false)",
                f"{lit(rule.reason)} || {shown}",
            )
        )
    err_col = " ".join(f"when {cond} then {lit(col)}" for col, cond, _ in checks)
    err_reason = " ".join(f"when {cond} then {reason}" for _, cond, reason in checks)
    extra = (
        "list_filter(range(1, len(keys) + 1), lambda i: "
        f"keys[i] not in {_in_list(tuple(source.column_names))})"
    )
    return f"""
with e as (
    select *, {extra} as __extra_idx from {recs_table}
), v as (
    select file_id, line, __delivery_date, n_bytes,
        coalesce(raw_text, to_json(map(keys, vals))::VARCHAR) as raw_text,
        case when len(__extra_idx) > 0 then to_json(map(
            list_transform(__extra_idx, lambda i: keys[i]),
            list_transform(__extra_idx, lambda i: nullif(vals[i], ''))
        )) end as __extra,
        {", ".join(raw_vals)}
    from e
), s as (
    select *, {", ".join(trimmed)} from v
), t as (
    select *, {", ".join(typed)} from s
)
select *,
    case {err_col} end as __err_column,
    case {err_reason} end as __err_reason
from t
"""
