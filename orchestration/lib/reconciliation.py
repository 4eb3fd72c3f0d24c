"""Cross-layer reconciliation: what arrived in landing, what `raw` holds and what the
marts report must agree.

Plain SQL over a DuckDB connection, usable without Dagster (the asset checks in
orchestration/defs/quality/reconciliation.py wrap them). Each check returns a
`CheckOutcome`: passed, an observed value, and details that name the offending
source, file or day. The recomputations below are written from the landing
contract, not copied from the dbt models, so that a bug in a model shows up as a
difference here.

Settings (environment variables, defaults in `ReconciliationLimits`):
RECON_REVENUE_TOLERANCE, RECON_VOLUME_LOW_RATIO, RECON_VOLUME_HIGH_RATIO,
RECON_VOLUME_BASELINE_DAYS, RECON_VOLUME_CHECK_DAYS, RECON_VOLUME_MIN_BASELINE_ROWS,
RECON_VOLUME_SKIP_SOURCES (comma separated). How old a source's latest delivery may
be is its dbt source freshness (`warn_after` in dbt_project/models/staging/_raw__sources.yml,
`source_max_age_days`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date

import duckdb

from orchestration.lib.contract import SOURCES, SOURCES_BY_NAME
from orchestration.lib.ingest_sql import lit

# How many offending items a result lists (the count is always complete).
MAX_DETAILS = 20

# Sources without a daily delivery: campaign_events arrive in bursts with campaigns,
# experiment_assignments only while a test is being set up (their freshness in the dbt
# sources says so too). Their daily volume says nothing.
IRREGULAR_SOURCES = ("campaign_events", "experiment_assignments")


@dataclass(frozen=True)
class CheckOutcome:
    """One reconciliation result: `observed` is the number of offending items unless the
    check says otherwise; `details` names them (at most MAX_DETAILS)."""

    check: str
    passed: bool
    observed: int
    details: list[str]
    figures: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        if self.passed:
            return f"{self.check}: ok"
        shown = "; ".join(self.details)
        more = self.observed - len(self.details)
        return f"{self.check}: {self.observed} failing: {shown}" + (
            f" (+{more} more)" if more > 0 else ""
        )


def _outcome(check: str, bad: list[str], figures: dict | None = None) -> CheckOutcome:
    return CheckOutcome(check, not bad, len(bad), bad[:MAX_DETAILS], figures or {})


@dataclass(frozen=True)
class ReconciliationLimits:
    revenue_tolerance: float = 0.01
    volume_low_ratio: float = 0.5
    volume_high_ratio: float = 2.0
    volume_baseline_days: int = 7
    # Delivery days judged, counting back from the as-of date (1 = the night's delivery).
    volume_check_days: int = 1
    # A baseline median below this is too small to judge: a handful of rows a day
    # halves or doubles by chance (the demo's surveys, ~8 a day, would warn weekly).
    volume_min_baseline_rows: float = 20.0
    volume_skip_sources: tuple[str, ...] = IRREGULAR_SOURCES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ReconciliationLimits:
        """Each limit as RECON_<NAME>: a number, or a comma-separated list of sources for
        volume_skip_sources."""
        values: dict = {}
        for f in fields(cls):
            var = f"RECON_{f.name.upper()}"
            raw = environ.get(var)
            if raw is None:
                continue
            if f.name == "volume_skip_sources":
                values[f.name] = _parse_sources(var, raw)
            else:
                try:
                    values[f.name] = type(f.default)(raw)
                except ValueError as exc:
                    kind = "whole number" if isinstance(f.default, int) else "number"
                    raise ValueError(f"{var}={raw!r} is not a {kind}") from exc
        return cls(**values)


def _items(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _parse_sources(var: str, text: str) -> tuple[str, ...]:
    unknown = [n for n in _items(text) if n not in SOURCES_BY_NAME]
    if unknown:
        raise ValueError(f"{var}: {', '.join(unknown)} is not a contract source")
    return tuple(_items(text))


def _source_filter(column: str, source: str | None) -> str:
    return f"{column} = {lit(source)}" if source else "true"


def _rows_per_file_sql(source: str | None) -> str:
    """Rows each file put into its source's raw table (of one source, when given)."""
    return " union all ".join(
        f"select {lit(s.name)} as source, _file as file, count(*) as n"
        f" from raw.{s.name} group by _file"
        for s in SOURCES
        if source in (None, s.name)
    )


def landing_lines_reconciled(
    con: duckdb.DuckDBPyConnection, source: str | None = None
) -> CheckOutcome:
    """Every landing file's lines are accounted for in `raw`, per file.

    For a loaded file: data lines (`lines_in_file`, the CSV header excluded; rows for
    Parquet) = rows in `raw.<source>` + rows in `raw._rejects` + blank lines +
    continuation lines of quoted values spanning lines, and `_files`' own
    rows_loaded/rows_rejected agree with those tables. A duplicate or quarantined file
    put nothing in either table. Rows in raw whose file `_files` does not know fail too.
    """
    bad = [
        r[0]
        for r in con.execute(
            f"""
            with files as (
                select * from raw._files where {_source_filter("source", source)}
            ), loaded as ({_rows_per_file_sql(source)}),
            rejected as (
                select source, file, count(*) as n from raw._rejects group by all
            ), joined as (
                select f.source, f.file, f.status, f.lines_in_file,
                    coalesce(f.blank_lines, 0) as blank, coalesce(f.continuation_lines, 0) as cont,
                    f.rows_loaded, f.rows_rejected,
                    coalesce(l.n, 0) as raw_rows, coalesce(r.n, 0) as reject_rows
                from files f
                left join loaded l using (source, file)
                left join rejected r using (source, file)
            )
            select case when status = 'loaded' then
                    file || ': ' || coalesce(lines_in_file::varchar, 'unknown')
                    || ' data lines <> ' || raw_rows || ' raw rows + ' || reject_rows
                    || ' rejects + ' || blank || ' blank + ' || cont || ' continuation lines'
                    || ' (_files says ' || rows_loaded || ' loaded, ' || rows_rejected
                    || ' rejected)'
                else file || ' (' || status || '): ' || raw_rows || ' raw rows and '
                    || reject_rows || ' rejects, expected none'
                end
            from joined
            where case when status = 'loaded' then
                    lines_in_file is distinct from raw_rows + reject_rows + blank + cont
                    or rows_loaded <> raw_rows or rows_rejected <> reject_rows
                else raw_rows + reject_rows + rows_loaded + rows_rejected > 0 end
            union all
            select l.file || ': ' || l.n || ' rows in raw.' || l.source
                || ' from a file raw._files does not record'
            from loaded l anti join raw._files f using (source, file)
            order by 1
            """
        ).fetchall()
    ]
    files = con.execute(
        f"select count(*) from raw._files where {_source_filter('source', source)}"
    ).fetchall()[0][0]
    return _outcome("lines_reconciled_with_raw", bad, {"files": files})


# The contract's revenue rule over the latest version of each order in raw, in the
# order's own currency: web/app orders count net_amount unless cancelled or returned;
# POS sales add, POS returns subtract (whatever sign the file gave them).
_RAW_REVENUE = """
with web as (
    select * from raw.web_orders
    qualify row_number() over (partition by order_id order by updated_at desc nulls last,
        _delivery_date desc nulls last, _file desc nulls last, _line desc nulls last) = 1
), pos as (
    select * from raw.pos_transactions
    qualify row_number() over (partition by transaction_id order by
        _delivery_date desc nulls last, _file desc nulls last, _line desc nulls last) = 1
)
select 'web_orders' as source, cast(order_ts as date) as day,
    coalesce(upper(nullif(trim(currency), '')), 'USD') as currency, count(*) as orders,
    sum(case when status in ('cancelled', 'returned') then 0 else net_amount end) as revenue
from web group by all
union all
select 'pos_transactions', cast(txn_ts as date),
    coalesce(upper(nullif(trim(currency), '')), 'USD'), count(*),
    sum(case when txn_type = 'return' then -abs(net_amount) else net_amount end)
from pos group by all
"""


def revenue_reconciled(
    con: duckdb.DuckDBPyConnection, limits: ReconciliationLimits | None = None
) -> CheckOutcome:
    """Revenue of the valid raw rows = revenue in marts.fct_orders, per source, order day
    (UTC) and original currency, within `revenue_tolerance`; order counts equal too."""
    limits = limits or ReconciliationLimits()
    rows = con.execute(
        f"""
        with r as ({_RAW_REVENUE}),
        m as (
            select source, cast(ordered_at as date) as day, currency, count(*) as orders,
                sum(revenue_amount) as revenue
            from marts.fct_orders group by all
        ), j as (
            select source, day, currency,
                coalesce(r.orders, 0) as raw_orders, coalesce(m.orders, 0) as mart_orders,
                coalesce(r.revenue, 0) as raw_revenue, coalesce(m.revenue, 0) as mart_revenue
            from r full join m using (source, day, currency)
        )
        select source || ' ' || day || ' ' || currency || ': raw ' || raw_revenue
                || ' (' || raw_orders || ' orders) <> fct_orders ' || mart_revenue
                || ' (' || mart_orders || ' orders)',
            abs(raw_revenue - mart_revenue) > ? or raw_orders <> mart_orders as bad,
            currency, raw_revenue, mart_revenue
        from j order by source, day, currency
        """,
        [limits.revenue_tolerance],
    ).fetchall()
    totals: dict[str, dict[str, float]] = {}
    for _, _, currency, raw_revenue, mart_revenue in rows:
        t = totals.setdefault(currency, {"raw": 0.0, "fct_orders": 0.0})
        t["raw"] += float(raw_revenue)
        t["fct_orders"] += float(mart_revenue)
    figures = {c: {k: round(v, 2) for k, v in t.items()} for c, t in sorted(totals.items())}
    return _outcome("revenue_reconciled_with_raw", [r[0] for r in rows if r[1]], figures)


def touchpoints_explained(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Every marts.fct_touchpoints row without a customer has a reason, worked out from
    the identity tables: `forgotten` (an identifier belongs to a customer who asked to be
    forgotten, or the record key was redacted for one), `no_identifier` (the record
    carries no usable identifier), `only_excluded_identifiers` (every identifier it
    carries is in identity.excluded_identifiers). Any other null customer fails.
    `figures` holds the count per reason."""
    rows = con.execute(
        """
        with unresolved as (
            select touchpoint_key, source, source_record_id
            from marts.fct_touchpoints where customer_id is null
        ), idents as (
            select ri.record_key,
                count(*) as n,
                count(*) filter (where x.identifier_type is not null) as excluded,
                bool_or(f.customer_id is not null) as forgotten,
                string_agg(distinct c.customer_id, ', ') filter (
                    where f.customer_id is null) as live_customers
            from intermediate.int_identity__record_identifiers ri
            semi join unresolved u on ri.record_key = u.touchpoint_key
            left join identity.excluded_identifiers x
                on ri.identifier_type = x.identifier_type
                and ri.identifier_value = x.identifier_value
            left join intermediate.int_identity__identifier_clusters c
                on ri.identifier_key = c.identifier_key
            left join intermediate.int_customers_forgotten f on c.customer_id = f.customer_id
            where ri.is_resolved_record
            group by ri.record_key
        )
        select u.touchpoint_key,
            case
                when u.source in ('crm_customers', 'experiment_assignments')
                    and starts_with(u.source_record_id, 'forgotten-') then 'forgotten'
                when i.forgotten then 'forgotten'
                when i.record_key is null then 'no_identifier'
                when i.excluded = i.n then 'only_excluded_identifiers'
            end as reason,
            i.n, i.excluded, i.live_customers
        from unresolved u left join idents i on u.touchpoint_key = i.record_key
        order by u.touchpoint_key
        """
    ).fetchall()
    counts: dict[str, int] = {}
    bad = []
    for key, reason, n, excluded, live in rows:
        counts[reason or "unexplained"] = counts.get(reason or "unexplained", 0) + 1
        if reason is None:
            bad.append(
                f"{key}: no customer, but {n - excluded} of its {n} identifiers are not"
                f" excluded" + (f" (they resolve to {live})" if live else "")
            )
    return _outcome("null_customers_explained", bad, dict(sorted(counts.items())))


def _as_of(con: duckdb.DuckDBPyConnection, as_of: date | None) -> date | None:
    """The given as-of date, else the latest delivery date raw._files records."""
    if as_of is not None:
        return as_of
    return con.execute("select max(delivery_date) from raw._files").fetchall()[0][0]


def volume_anomalies(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    limits: ReconciliationLimits | None = None,
    source: str | None = None,
) -> CheckOutcome:
    """Rows delivered per source and delivery day (rows read from loaded files; a day
    without any is 0) against the median of the `volume_baseline_days` days before it.
    The last `volume_check_days` days up to `as_of` are judged; a day with fewer prior
    days since the source's first delivery, or a baseline below
    `volume_min_baseline_rows`, is not judged, nor are `volume_skip_sources`."""
    limits = limits or ReconciliationLimits()
    as_of = _as_of(con, as_of)
    if as_of is None:
        return _outcome("volume_within_baseline", [], {"judged_days": 0})
    rows = con.execute(
        f"""
        with daily as (
            select source, delivery_date as day, sum(rows_read) as n
            from raw._files
            where status = 'loaded' and delivery_date <= $as_of
                and {_source_filter("source", source)}
                and not list_contains(cast($skip as varchar[]), source)
            group by all
        ), calendar as (
            select source, cast(unnest(generate_series(min(day), $as_of, interval 1 day))
                as date) as day
            from daily group by source
        ), filled as (
            select source, day, coalesce(d.n, 0) as n
            from calendar c left join daily d using (source, day)
        ), windowed as (
            select *,
                median(n) over w as baseline,
                count(*) over w as prior_days
            from filled
            window w as (partition by source order by day
                rows between $baseline_days preceding and 1 preceding)
        )
        select source, day, n, baseline,
            n < $low * baseline or n > $high * baseline as bad
        from windowed
        where day > $as_of - cast($check_days as integer)
            and prior_days >= $baseline_days and baseline >= $min_rows
        order by source, day
        """,
        {
            "as_of": as_of,
            "baseline_days": limits.volume_baseline_days,
            "check_days": limits.volume_check_days,
            "low": limits.volume_low_ratio,
            "high": limits.volume_high_ratio,
            "min_rows": limits.volume_min_baseline_rows,
            "skip": list(limits.volume_skip_sources),
        },
    ).fetchall()
    bad = [
        f"{s} {d}: {n} rows = {100 * n / b:.0f} % of the trailing"
        f" {limits.volume_baseline_days}-day median {b:g} (allowed"
        f" {100 * limits.volume_low_ratio:g}..{100 * limits.volume_high_ratio:g} %)"
        for s, d, n, b, is_bad in rows
        if is_bad
    ]
    return _outcome("volume_within_baseline", bad, {"as_of": str(as_of), "judged_days": len(rows)})


# dbt's freshness periods, in days: the as-of date is a day, so is a delivery.
_PERIOD_DAYS = {"day": 1, "hour": 1 / 24, "minute": 1 / 1440}


def source_max_age_days(manifest: Mapping) -> dict[str, float | None]:
    """Each contract source's `warn_after` (dbt source freshness of `raw.<source>`) in
    days; None where it sets none. `error_after` is refused: a stale source must not
    stop the night's other sources, so freshness only warns."""
    project = manifest["metadata"]["project_name"]
    ages: dict[str, float | None] = {}
    for source in SOURCES:
        rule = manifest["sources"][f"source.{project}.raw.{source.name}"].get("freshness") or {}
        if (rule.get("error_after") or {}).get("count") is not None:
            raise ValueError(
                f"raw.{source.name}: freshness error_after is not supported (use warn_after)"
            )
        warn = rule.get("warn_after") or {}
        ages[source.name] = (
            None if warn.get("count") is None else warn["count"] * _PERIOD_DAYS[warn["period"]]
        )
    return ages


def freshness(
    con: duckdb.DuckDBPyConnection,
    max_age_days: Mapping[str, float | None],
    as_of: date | None = None,
    source: str | None = None,
) -> CheckOutcome:
    """The latest delivery date with a loaded file, per source, is at most the source's
    max age (days, `source_max_age_days`) before `as_of`. A source never loaded fails; a
    source whose max age is None has no expectation and is only reported."""
    as_of = _as_of(con, as_of)
    names = [source] if source else [s.name for s in SOURCES]
    latest = dict(
        con.execute(
            "select source, max(delivery_date) from raw._files"
            " where status = 'loaded' group by source"
        ).fetchall()
    )
    bad, ages = [], {}
    for name in names:
        last, max_age = latest.get(name), max_age_days[name]
        age = (as_of - last).days if last and as_of else None
        ages[name] = age
        if max_age is None:
            continue
        allowed = f"{max_age:g} day(s)"
        if last is None:
            bad.append(f"{name}: no file loaded yet (expected one within {allowed})")
        elif age > max_age:
            bad.append(
                f"{name}: latest delivery {last} is {age} day(s) before {as_of} (allowed {allowed})"
            )
    return _outcome("fresh_delivery", bad, {"as_of": str(as_of), "age_days": ages})
