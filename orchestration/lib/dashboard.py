"""The nightly KPI dashboard: one self-contained HTML page built from the published file.

Every figure is a published mart's number; the dashboard only sums the marts' additive
columns over a period or a slice, and takes a ratio over a period as the mart defines
it (ratio of the summed numerator and denominator), never a mean of daily ratios. The
charts are inline SVG drawn here, with no script and nothing loaded from elsewhere, so
the page works offline. The same published file and check results give byte-identical
HTML: the only date on the page is the data's as-of date.

Each chart is a `<figure data-chart=NAME data-points=N>` whose N data marks carry
`class="mark"` and a `<title>` tooltip (tests/e2e checks every chart has data).
"""

from __future__ import annotations

import html
import os
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.lib.publish import connect_reader

# The marts the dashboard reads: the `kpi_dashboard` exposure in
# dbt_project/models/marts/_exposures.yml depends on exactly these (a unit test holds them
# equal), so dbt lineage reaches the dashboard.
MARTS_READ = (
    "customer_loyalty_tiers",
    "dim_customers",
    "dim_dates",
    "rpt_channel_daily",
    "rpt_clv_by_segment",
    "rpt_cx_monthly",
    "rpt_loyalty_daily",
    "rpt_nps_by_segment",
    "rpt_retention_cohorts",
)
DASHBOARD_DIR = "dashboard"  # under $PUBLISH_DIR
DASHBOARD_NAME = "index.html"
PERIOD_DAYS = 30  # KPI tiles: the last 30 days to the as-of date against the 30 before
STOREFRONTS = ("web", "app", "store")
# Okabe-Ito colours: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
WIDTH, HEIGHT = 560, 220
# plot area inside the SVG: left room for the axis labels, bottom for the x labels
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 14, 40
SLANT_ROOM = 36  # added below the chart for slanted labels


# --- formatting --------------------------------------------------------------------------


def fmt_number(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{decimals}f}"


def fmt_usd(value: float | None) -> str:
    """Dollars, shortened past ten thousand ($12.3k, $1.25M)."""
    if value is None:
        return "–"
    size = abs(value)
    if size >= 1e6:
        return f"${value / 1e6:,.2f}M"
    if size >= 1e4:
        return f"${value / 1e3:,.1f}k"
    return f"${value:,.2f}"


def fmt_share(value: float | None, decimals: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{decimals}f}%"


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(value: float) -> str:
    """An SVG coordinate: two decimals, no trailing zeros (deterministic, small)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# --- charts (pure: data in, SVG out) ------------------------------------------------------


def _domain(values: Sequence[float]) -> tuple[float, float]:
    """The value axis: from min(0, values) to max(0, values); never empty."""
    lo, hi = min([0.0, *values]), max([0.0, *values])
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _scale(lo: float, hi: float) -> Callable[[float], float]:
    """Value -> y of the plot area (hi at the top)."""
    plot = HEIGHT - TOP - BOTTOM
    return lambda v: TOP + (hi - v) / (hi - lo) * plot


def _axis(lo: float, hi: float, fmt: Callable[[float], str]) -> list[str]:
    """Three gridlines (bottom, middle, top of the domain) and the zero line."""
    y = _scale(lo, hi)
    parts = []
    for v in (lo, (lo + hi) / 2, hi):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(y(v))}" y2="{_n(y(v))}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{_n(y(v) + 4)}" text-anchor="end">'
            f"{escape(fmt(v))}</text>"
        )
    parts.append(
        f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(y(0))}" y2="{_n(y(0))}"/>'
    )
    return parts


LABEL_CHARS = 14  # a slanted label is cut to this many characters (the tooltip has it all)


def _label_step(labels: Sequence[str]) -> int:
    return max(1, -(-len(labels) // 12))


def _slanted(labels: Sequence[str]) -> bool:
    """Whether the labels, about 6 px a character at 10 px, would overlap side by side."""
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels)) * _label_step(labels)
    return max(map(len, labels), default=0) * 6 > slot


def _x_labels(labels: Sequence[str], centre: Callable[[int], float]) -> list[str]:
    """At most about 12 labels along the bottom, so they never overlap; slanted and
    cut short when they would not fit side by side."""
    step = _label_step(labels)
    slant = _slanted(labels)
    y = HEIGHT - BOTTOM + (12 if slant else 16)
    return [
        f'<text class="tick" x="{_n(centre(i))}" y="{y}" '
        + (
            f'text-anchor="end" transform="rotate(-30 {_n(centre(i))} {y})">'
            f"{escape(label[: LABEL_CHARS - 1] + '…' if len(label) > LABEL_CHARS else label)}"
            if slant
            else f'text-anchor="middle">{escape(label)}'
        )
        + "</text>"
        for i, label in enumerate(labels)
        if i % step == 0
    ]


def _legend(names: Sequence[str]) -> str:
    if len(names) < 2:
        return ""
    items = "".join(
        f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{escape(name)}</span>'
        for i, name in enumerate(names)
    )
    return f'<div class="legend">{items}</div>'


def _tip(label: str, names: Sequence[str], name: str, value: float, fmt) -> str:
    """A mark's tooltip: its label, its series when there are several, its value."""
    return f"{label}: {fmt(value)}" if len(names) == 1 else f"{label}, {name}: {fmt(value)}"


def _figure(
    name: str, title: str, points: int, body: list[str], names: Sequence[str], note: str,
    labels: Sequence[str],
) -> str:  # fmt: skip
    label = f"{name}-title"
    height = HEIGHT + (SLANT_ROOM if _slanted(labels) else 0)
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{label}">'
        f'<title id="{label}">{escape(title)}</title>{"".join(body)}</svg>'
        if points
        else '<p class="empty">No data.</p>'
    )
    caption = f"<figcaption>{escape(title)}</figcaption>"
    foot = f'<p class="note">{escape(note)}</p>' if note else ""
    return (
        f'<figure class="chart" data-chart="{escape(name)}" data-points="{points}">'
        f"{caption}{_legend(names)}{svg}{foot}</figure>"
    )


def bar_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    fmt: Callable[[float], str] = fmt_number,
    note: str = "",
) -> str:
    """Bars, one per label; several series are stacked (their values add up: a missing
    value counts 0). Each bar segment's height is proportional to its value."""
    names = list(series)
    values = {s: [v or 0.0 for v in series[s]] for s in names}
    tops = [sum(max(values[s][i], 0) for s in names) for i in range(len(labels))]
    bottoms = [sum(min(values[s][i], 0) for s in names) for i in range(len(labels))]
    lo, hi = _domain([*tops, *bottoms])
    y = _scale(lo, hi)
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    width = slot * 0.7
    body = _axis(lo, hi, fmt)
    marks = 0
    for i, label in enumerate(labels):
        up, down = 0.0, 0.0  # stack positives upwards, negatives downwards from 0
        for k, s in enumerate(names):
            v = values[s][i]
            if v == 0:
                continue
            start = up if v > 0 else down
            end = start + v
            up, down = (end, down) if v > 0 else (up, end)
            tip = _tip(label, names, s, v, fmt)
            body.append(
                f'<rect class="mark" x="{_n(LEFT + slot * i + (slot - width) / 2)}" '
                f'y="{_n(y(max(start, end)))}" width="{_n(width)}" '
                f'height="{_n(y(min(start, end)) - y(max(start, end)))}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(tip)}</title></rect>'
            )
            marks += 1
    body += _x_labels(labels, lambda i: LEFT + slot * (i + 0.5))
    return _figure(name, title, marks, body, names, note, labels)


def line_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    fmt: Callable[[float], str] = fmt_number,
    note: str = "",
) -> str:
    """One line per series over the labels; a missing value breaks the line and gets no
    point. Each point is a mark."""
    names = list(series)
    known = [v for s in names for v in series[s] if v is not None]
    if not known:
        return _figure(name, title, 0, [], names, note, labels)
    lo, hi = _domain(known)
    y = _scale(lo, hi)
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels) - 1)
    x = (lambda i: LEFT + step * i) if len(labels) > 1 else (lambda i: (LEFT + WIDTH - RIGHT) / 2)
    body = _axis(lo, hi, fmt)
    marks = 0
    for k, s in enumerate(names):
        colour = PALETTE[k % len(PALETTE)]
        runs: list[list[str]] = [[]]  # a missing value starts a new run
        for i, v in enumerate(series[s]):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{_n(x(i))},{_n(y(v))}")
        body += [
            f'<polyline class="line" fill="none" stroke="{colour}" points="{" ".join(r)}"/>'
            for r in runs
            if len(r) > 1
        ]
        for i, v in enumerate(series[s]):
            if v is None:
                continue
            tip = _tip(labels[i], names, s, v, fmt)
            body.append(
                f'<circle class="mark" cx="{_n(x(i))}" cy="{_n(y(v))}" r="3" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
            marks += 1
    body += _x_labels(labels, x)
    return _figure(name, title, marks, body, names, note, labels)


def table(name: str, title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A small table; each row is a mark. The first column is the row's label."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join(
        '<tr class="mark"><th scope="row">'
        + escape(row[0])
        + "</th>"
        + "".join(f"<td>{escape(c)}</td>" for c in row[1:])
        + "</tr>"
        for row in rows
    )
    content = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if rows
        else '<p class="empty">No data.</p>'
    )
    return (
        f'<figure class="chart table" data-chart="{escape(name)}" data-points="{len(rows)}">'
        f"<figcaption>{escape(title)}</figcaption>{content}</figure>"
    )


def _total(rows: list[dict], column: str) -> float | None:
    """The column's sum over the rows; None (shown as –) when no row has a value, e.g.
    churn figures on a night without a churn model."""
    values = [r[column] for r in rows if r[column] is not None]
    return sum(values) if values else None


@dataclass(frozen=True)
class Tile:
    label: str
    value: float | None
    previous: float | None = None  # the value of the period before, for the delta
    fmt: Callable[[float | None], str] = fmt_number
    lower_is_better: bool = False
    note: str = ""
    # How the change is told: "%" relative; "pp" percentage points (the default for
    # shares); "pts" the difference in the value's own unit (for scores such as NPS).
    change: str | None = None


def delta(value: float | None, previous: float | None, change: str = "%") -> float | None:
    """The change from `previous` to `value` (see Tile.change); None when either is
    missing, or for a relative change when `previous` is 0."""
    if value is None or previous is None:
        return None
    if change == "pp":
        return 100 * (value - previous)
    if change == "pts":
        return value - previous
    return None if previous == 0 else 100 * (value - previous) / abs(previous)


def kpi_tile(tile: Tile) -> str:
    kind_of_change = tile.change or ("pp" if tile.fmt is fmt_share else "%")
    change = delta(tile.value, tile.previous, kind_of_change)
    if change is None:
        trend = f'<span class="delta">{escape(tile.note)}</span>'
    else:
        good = (change < 0) if tile.lower_is_better else (change > 0)
        kind = "flat" if round(change, 1) == 0 else ("good" if good else "bad")
        arrow = "▲" if change > 0 else ("▼" if change < 0 else "■")
        unit = "%" if kind_of_change == "%" else f" {kind_of_change}"
        trend = (
            f'<span class="delta {kind}">{arrow} {change:+.1f}{unit} '
            f"<small>{escape(tile.note)} (was {escape(tile.fmt(tile.previous))})</small></span>"
        )
    return (
        f'<div class="tile"><span class="label">{escape(tile.label)}</span>'
        f'<span class="value">{escape(tile.fmt(tile.value))}</span>{trend}</div>'
    )


# --- data quality ------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityResult:
    """One check of the run (data_quality.results.CheckResult, as dq.check_results
    stores it)."""

    layer: str
    asset: str
    check: str
    success: bool
    severity: str
    observed_value: str | None


def run_check_results(con: duckdb.DuckDBPyConnection, run_id: str) -> list[QualityResult]:
    """A run's rows of dq.check_results (none when the table is not there)."""
    from data_quality.results import RESULTS_TABLE

    schema, name = RESULTS_TABLE.split(".")
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0]
    if not exists:
        return []
    rows = con.execute(
        f"select layer, asset, check_name, success, severity, observed_value "
        f"from {RESULTS_TABLE} where run_id = ? order by layer, asset, check_name",
        [run_id],
    ).fetchall()
    return [QualityResult(*row) for row in rows]


def read_check_results(warehouse: Path, run_id: str) -> list[QualityResult]:
    """run_check_results from the warehouse file, opened read-only. The caller makes sure
    no writer has the file open."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return run_check_results(con, run_id)


MAX_LISTED_FAILURES = 25
LAYER_ORDER = ("raw", "staging", "marts")
OUTCOMES = ("failed", "warning", "passed")  # worst first


def layer_rank(layer: str) -> tuple:
    """Sort key: the pipeline's layers in their order, any other after them by name."""
    known = layer in LAYER_ORDER
    return (not known, LAYER_ORDER.index(layer) if known else 0, layer)


def quality_section(results: Sequence[QualityResult]) -> tuple[list[str], str]:
    """The checks per layer (passed / warnings / failures) and the failed ones listed."""
    if not results:
        return [], '<p class="empty">No check results were given to this build.</p>'
    layers = sorted({r.layer for r in results}, key=layer_rank)
    count = {
        kind: [
            sum(1 for r in results if r.layer == layer and outcome(r.success, r.severity) == kind)
            for layer in layers
        ]
        for kind in ("passed", "warning", "failed")
    }
    chart = bar_chart(
        "quality_checks_by_layer",
        "Expectations by layer and outcome",
        layers,
        count,
        note="failed: an ERROR expectation failed (it blocks publishing); warning: a WARN one.",
    )
    failed = sorted(
        (r for r in results if not r.success),
        key=lambda r: (OUTCOMES.index(outcome(r.success, r.severity)), r.asset, r.check),
    )
    rows = [
        [r.asset, r.check, outcome(r.success, r.severity), (r.observed_value or "")[:160]]
        for r in failed[:MAX_LISTED_FAILURES]
    ]
    listing = (
        table(
            "quality_failures",
            "Expectations that did not pass",
            ["table", "expectation", "outcome", "observed"],
            rows,
        )
        if rows
        else '<p class="ok">Every expectation of this run passed.</p>'
    )
    summary = (
        f'<p class="lead">{len(results)} expectations in this run: '
        f"{sum(count['passed'])} passed, {sum(count['warning'])} warnings, "
        f"{sum(count['failed'])} failed.</p>"
    )
    return [chart], summary + listing


def outcome(success: bool, severity: str) -> str:
    """passed; failed: an ERROR expectation failed (it blocks publishing); warning: a WARN
    one did."""
    if success:
        return "passed"
    return "failed" if severity == "ERROR" else "warning"


# --- queries against the published marts ---------------------------------------------------

# The last PERIOD_DAYS days to the as-of date are period 0, the PERIOD_DAYS before period 1.
_PERIOD = f"d.days_before_as_of // {PERIOD_DAYS}"

# Ratios over a period are the marts' own ratios on the period's sums (conversion =
# converted / sessions, ROAS = revenue / spend, CAC = spend / new customers, AOV = the
# daily AOV weighted by orders, i.e. net amount / orders).
_CHANNEL_SUMS = """
    sum(c.revenue_usd) as revenue,
    sum(c.order_count) as orders,
    sum(c.average_order_value_usd * c.order_count) / nullif(sum(c.order_count), 0) as aov,
    sum(c.new_customer_count) as new_customers,
    sum(c.returning_customer_count) as returning_customers,
    sum(c.converted_session_count) / nullif(sum(c.session_count), 0) as conversion,
    sum(c.spend_usd) as spend,
    sum(c.revenue_usd) / nullif(sum(c.spend_usd), 0) as roas,
    sum(c.spend_usd) / nullif(sum(c.new_customer_count), 0) as cac,
    sum(c.returned_order_count) / nullif(sum(c.order_count), 0) as return_rate"""

QUERIES = {
    "as_of": "select date_day from dim_dates where days_before_as_of = 0",
    "channel_periods": f"""
        select {_PERIOD} as period, {_CHANNEL_SUMS}
        from rpt_channel_daily as c
        inner join dim_dates as d on c.activity_date = d.date_day
        where d.days_before_as_of between 0 and {2 * PERIOD_DAYS - 1}
        group by all order by period""",
    "channel_last_period": f"""
        select c.channel, {_CHANNEL_SUMS}
        from rpt_channel_daily as c
        inner join dim_dates as d on c.activity_date = d.date_day
        where d.days_before_as_of between 0 and {PERIOD_DAYS - 1}
        group by all order by c.channel""",
    "monthly": f"""
        select d.month_start as month, {_CHANNEL_SUMS}
        from rpt_channel_daily as c
        inner join dim_dates as d on c.activity_date = d.date_day
        group by all order by month""",
    "channel_monthly": f"""
        select d.month_start as month, c.channel, {_CHANNEL_SUMS}
        from rpt_channel_daily as c
        inner join dim_dates as d on c.activity_date = d.date_day
        group by all order by month, c.channel""",
    "clv_by_segment": """
        select
            rfm_segment,
            sum(customers) as customers,
            sum(total_clv_365d_usd) as clv,
            sum(high_risk_customers) as high_risk,
            sum(clv_365d_at_high_risk_usd) as clv_at_risk,
            sum(sum_churn_probability) as expected_churners
        from rpt_clv_by_segment
        group by all order by clv desc, rfm_segment""",
    "risk_tiers": """
        select tier, count(*) as customers
        from (select coalesce(risk_tier, 'no purchase') as tier from dim_customers)
        group by tier
        order by list_position(['high', 'medium', 'low', 'no purchase'], tier)""",
    # Customers of cohorts old enough to have reached the month, active in it.
    "retention": """
        select
            months_since_first_purchase as month,
            first_channel,
            sum(active_customers) / sum(cohort_customers) as retention
        from rpt_retention_cohorts
        where months_since_first_purchase between 1 and 12
        group by all order by month, first_channel""",
    "loyalty_monthly": """
        select
            date_trunc('month', report_date) as month,
            sum(points_issued) as issued,
            sum(points_redeemed) as redeemed,
            sum(points_expired) as expired,
            arg_max(liability_usd, report_date) as liability
        from rpt_loyalty_daily
        group by all order by month""",
    "loyalty_periods": f"""
        select {_PERIOD} as period, l.liability_usd, l.redemption_rate, l.breakage_rate
        from rpt_loyalty_daily as l
        inner join dim_dates as d on l.report_date = d.date_day
        where d.days_before_as_of in (0, {PERIOD_DAYS})
        order by period""",
    "tiers": """
        select tier, count(*) as members
        from customer_loyalty_tiers
        group by all order by min(tier_rank)""",
    # NPS, CSAT and CES of a month over its touchpoints: each row's score weighted by its
    # responses (promoters - detractors = nps x responses / 100); complaints per 1000
    # orders share the month's order count, so the touchpoints' figures add up.
    "cx_monthly": """
        select
            report_month as month,
            sum(nps * nps_response_count) filter (where nps is not null)
                / nullif(sum(nps_response_count) filter (where nps is not null), 0) as nps,
            sum(csat_top2_share * csat_response_count) filter (where csat_top2_share is not null)
                / nullif(sum(csat_response_count), 0) as csat_top2,
            sum(ces_mean * ces_response_count) filter (where ces_mean is not null)
                / nullif(sum(ces_response_count), 0) as ces,
            sum(complaints_per_1000_orders) as complaints_per_1000,
            sum(billing_ticket_count) as billing,
            sum(complaint_ticket_count) as complaint,
            sum(inquiry_ticket_count) as inquiry,
            sum(praise_ticket_count) as praise,
            sum(return_ticket_count) as "return",
            sum(technical_ticket_count) as technical
        from rpt_cx_monthly
        group by all order by month""",
    # A slice's NPS as rpt_nps_by_segment defines it: from the slice's summed counts.
    "nps_by_segment": """
        select
            rfm_segment,
            100.0 * (sum(promoters) - sum(detractors)) / sum(responses) as nps,
            sum(responses) as responses
        from rpt_nps_by_segment
        group by all order by nps desc, rfm_segment""",
}
TICKET_CATEGORIES = ("billing", "complaint", "inquiry", "praise", "return", "technical")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _month(day: date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.year % 100:02d}"


def _rows(con: duckdb.DuckDBPyConnection, query: str) -> list[dict]:
    """The query's rows as dicts, DECIMAL sums as floats."""
    cursor = con.execute(QUERIES[query])
    names = [d[0] for d in cursor.description]
    return [
        {n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def _pivot(rows: list[dict], key: str, by: str, value: str) -> tuple[list, dict[str, list]]:
    """Long rows to (the distinct `key`s in order, {each `by`: its values by key})."""
    keys = list(dict.fromkeys(r[key] for r in rows))
    groups = list(dict.fromkeys(r[by] for r in rows))
    cells = {(r[key], r[by]): r[value] for r in rows}
    return keys, {g: [cells.get((k, g)) for k in keys] for g in groups}


def _by_period(rows: list[dict]) -> tuple[dict, dict]:
    found = {r["period"]: r for r in rows}
    return found.get(0, {}), found.get(1, {})


# --- the page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    intro: str
    tiles: list[Tile]
    charts: list[str]
    extra: str = ""


def _sections(con: duckdb.DuckDBPyConnection, quality: Sequence[QualityResult] | None):
    now, before = _by_period(_rows(con, "channel_periods"))
    vs = f"vs previous {PERIOD_DAYS} days"

    def period_tile(label, column, fmt=fmt_number, lower_is_better=False):
        return Tile(label, now.get(column), before.get(column), fmt, lower_is_better, vs)

    total = _rows(con, "monthly")
    months = [_month(r["month"]) for r in total]
    monthly = _rows(con, "channel_monthly")
    _, revenue = _pivot(monthly, "month", "channel", "revenue")
    _, spend = _pivot(monthly, "month", "channel", "spend")
    _, conversion = _pivot(
        [r for r in monthly if r["channel"] != "store"], "month", "channel", "conversion"
    )

    executive = Section(
        "overview",
        "Executive overview",
        f"The last {PERIOD_DAYS} days to the as-of date against the {PERIOD_DAYS} days before, "
        "all storefronts (rpt_channel_daily).",
        [
            period_tile("Revenue", "revenue", fmt_usd),
            period_tile("Orders", "orders"),
            period_tile("Average order value", "aov", fmt_usd),
            period_tile("New customers", "new_customers"),
            period_tile("Conversion (web + app)", "conversion", fmt_share),
            period_tile("ROAS", "roas", lambda v: fmt_number(v, 2)),
            period_tile("CAC", "cac", fmt_usd, lower_is_better=True),
            period_tile("Return rate", "return_rate", fmt_share, lower_is_better=True),
        ],
        [
            bar_chart(
                "revenue_by_month",
                "Revenue by month (USD)",
                months,
                {"revenue": [r["revenue"] for r in total]},
                fmt_usd,
                note="The as-of month runs to the as-of date.",
            ),
            bar_chart(
                "customers_by_month",
                "New and returning buyers by month",
                months,
                {k: [r[f"{k}_customers"] for r in total] for k in ("new", "returning")},
                note="The daily counts per channel summed: a customer who buys on two days "
                "counts twice.",
            ),
        ],
    )

    last = _rows(con, "channel_last_period")
    channels = Section(
        "channels",
        "Channel performance",
        "Web, app and store, by month; marketing spend is charged to a storefront by the "
        "spend_channel_map seed.",
        [],
        [
            bar_chart(
                "revenue_by_channel", "Revenue by channel and month (USD)", months, revenue, fmt_usd
            ),
            line_chart(
                "conversion_by_channel",
                "Conversion rate by month (sessions that ordered)",
                months,
                conversion,
                fmt_share,
                note="Stores have no session count.",
            ),
            bar_chart(
                "spend_by_channel",
                "Marketing spend by channel and month (USD)",
                months,
                spend,
                fmt_usd,
            ),
            line_chart(
                "roas_by_month",
                "Return on ad spend by month, all storefronts",
                months,
                {"ROAS": [r["roas"] for r in total]},
                lambda v: fmt_number(v, 2),
                note="Revenue / spend of the month; by channel in the table.",
            ),
            table(
                "channel_table",
                f"Last {PERIOD_DAYS} days by channel",
                ["channel", "revenue", "orders", "AOV", "conversion", "CAC", "ROAS", "return rate"],
                [
                    [
                        r["channel"],
                        fmt_usd(r["revenue"]),
                        fmt_number(r["orders"]),
                        fmt_usd(r["aov"]),
                        fmt_share(r["conversion"]),
                        fmt_usd(r["cac"]),
                        fmt_number(r["roas"], 2),
                        fmt_share(r["return_rate"]),
                    ]
                    for r in last
                ],
            ),
        ],
    )

    segments = _rows(con, "clv_by_segment")
    tiers = _rows(con, "risk_tiers")
    retention_months, retention = _pivot(
        _rows(con, "retention"), "month", "first_channel", "retention"
    )
    value = Section(
        "value",
        "Customer value and churn risk",
        "Predicted 365-day value (BG/NBD + Gamma-Gamma) and churn risk of the customers "
        "scored on the as-of date (rpt_clv_by_segment), by RFM segment.",
        [
            Tile(
                "Predicted 365-day CLV",
                _total(segments, "clv"),
                fmt=fmt_usd,
                note="scored customers",
            ),
            Tile(
                "Expected churners",
                _total(segments, "expected_churners"),
                note="sum of churn probabilities",
            ),
            Tile(
                "High-risk customers",
                _total(segments, "high_risk"),
                note="risk tier high",
            ),
            Tile(
                "CLV at high risk",
                _total(segments, "clv_at_risk"),
                fmt=fmt_usd,
                note="what retention could save",
            ),
        ],
        [
            bar_chart(
                "clv_by_segment",
                "Predicted 365-day CLV by RFM segment (USD)",
                [r["rfm_segment"] for r in segments],
                {"CLV": [r["clv"] for r in segments]},
                fmt_usd,
            ),
            bar_chart(
                "risk_by_segment",
                "Customers by RFM segment: high churn risk and the rest",
                [r["rfm_segment"] for r in segments],
                {
                    "high risk": [r["high_risk"] for r in segments],
                    "medium, low or unscored": [r["customers"] - r["high_risk"] for r in segments],
                },
            ),
            bar_chart(
                "risk_tiers",
                "Customers by churn risk tier (dim_customers)",
                [r["tier"] for r in tiers],
                {"customers": [r["customers"] for r in tiers]},
            ),
            line_chart(
                "retention_curve",
                "Retention by months since first purchase, by first channel",
                [str(m) for m in retention_months],
                retention,
                fmt_share,
                note="Active customers / cohort customers over the cohorts that reached the month.",
            ),
        ],
    )

    loyalty_rows = _rows(con, "loyalty_monthly")
    loyalty_now, loyalty_before = _by_period(_rows(con, "loyalty_periods"))
    tier_rows = _rows(con, "tiers")
    loyalty_months = [_month(r["month"]) for r in loyalty_rows]
    loyalty = Section(
        "loyalty",
        "Loyalty",
        "Points flows, the program's liability and members by tier on the as-of date "
        "(rpt_loyalty_daily, customer_loyalty_tiers).",
        [
            Tile(
                "Points liability",
                loyalty_now.get("liability_usd"),
                loyalty_before.get("liability_usd"),
                fmt_usd,
                True,
                f"vs {PERIOD_DAYS} days before",
            ),
            Tile(
                "Redemption rate",
                loyalty_now.get("redemption_rate"),
                loyalty_before.get("redemption_rate"),
                fmt_share,
                note=f"vs {PERIOD_DAYS} days before",
            ),
            Tile(
                "Breakage rate",
                loyalty_now.get("breakage_rate"),
                loyalty_before.get("breakage_rate"),
                fmt_share,
                True,
                f"vs {PERIOD_DAYS} days before",
            ),
            Tile("Members", sum(r["members"] for r in tier_rows), note="with a tier"),
        ],
        [
            line_chart(
                "points_liability",
                "Points liability at month end (USD)",
                loyalty_months,
                {"liability": [r["liability"] for r in loyalty_rows]},
                fmt_usd,
            ),
            line_chart(
                "points_flows",
                "Points issued, redeemed and expired by month",
                loyalty_months,
                {k: [r[k] for r in loyalty_rows] for k in ("issued", "redeemed", "expired")},
            ),
            bar_chart(
                "tier_members",
                "Members by tier",
                [r["tier"] for r in tier_rows],
                {"members": [r["members"] for r in tier_rows]},
            ),
        ],
    )

    cx_rows = _rows(con, "cx_monthly")
    cx_months = [_month(r["month"]) for r in cx_rows]
    cx_now, cx_before = (
        (cx_rows[-1], cx_rows[-2]) if len(cx_rows) > 1 else (cx_rows[-1] if cx_rows else {}, {})
    )
    by_segment = _rows(con, "nps_by_segment")

    def month_tile(label, column, fmt, lower_is_better=False, change=None):
        return Tile(
            label,
            cx_now.get(column),
            cx_before.get(column),
            fmt,
            lower_is_better,
            "vs previous month",
            change,
        )

    cx = Section(
        "cx",
        "Customer experience",
        "Surveys and service tickets by month over every touchpoint (rpt_cx_monthly) and "
        "NPS by RFM segment (rpt_nps_by_segment). Tiles compare the as-of month with the one "
        "before.",
        [
            month_tile("NPS", "nps", lambda v: fmt_number(v, 1), change="pts"),
            month_tile("CSAT (top 2 boxes)", "csat_top2", fmt_share),
            month_tile("Customer effort (1-7)", "ces", lambda v: fmt_number(v, 2), True, "pts"),
            month_tile(
                "Complaints per 1,000 orders",
                "complaints_per_1000",
                lambda v: fmt_number(v, 2),
                True,
            ),
        ],
        [
            line_chart(
                "nps_by_month",
                "NPS by month",
                cx_months,
                {"NPS": [r["nps"] for r in cx_rows]},
                lambda v: fmt_number(v, 1),
            ),
            line_chart(
                "csat_by_month",
                "CSAT top-2 share by month",
                cx_months,
                {"CSAT": [r["csat_top2"] for r in cx_rows]},
                fmt_share,
            ),
            bar_chart(
                "tickets_by_month",
                "Service tickets by category and month",
                cx_months,
                {c: [r[c] for r in cx_rows] for c in TICKET_CATEGORIES},
            ),
            bar_chart(
                "nps_by_segment",
                "NPS by RFM segment (all responses to the as-of date)",
                [r["rfm_segment"] for r in by_segment],
                {"NPS": [r["nps"] for r in by_segment]},
                lambda v: fmt_number(v, 1),
            ),
        ],
    )

    quality_charts, quality_body = quality_section(quality or [])
    dq = Section(
        "quality",
        "Data quality",
        "The Great Expectations results of the run that published this file "
        "(dq.check_results: raw, staging and marts suites).",
        [],
        quality_charts,
        quality_body,
    )
    return [executive, channels, value, loyalty, cx, dq]


CSS = """
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f6f7f9;--good:#047857;--bad:#b91c1c}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--ink);background:var(--bg)}
header{background:#111827;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#cbd5e1}
nav{display:flex;gap:18px;padding:10px 32px;background:#fff;border-bottom:1px solid var(--line);
  position:sticky;top:0}
nav a{color:var(--ink);text-decoration:none;font-weight:500}
main{padding:8px 32px 32px;max-width:1280px;margin:0 auto}
section{margin-top:24px}
h2{font-size:18px;margin:0 0 4px}
.lead,.intro{color:var(--muted);margin:0 0 12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px;margin-bottom:12px}
.tile{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px;
  display:flex;flex-direction:column}
.tile .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .value{font-size:24px;font-weight:600;margin:2px 0}
.delta{font-size:12px;color:var(--muted)}
.delta.good{color:var(--good)}.delta.bad{color:var(--bad)}
.delta small{color:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
figcaption{font-weight:600;margin-bottom:4px}
svg{width:100%;height:auto;display:block}
svg text{font-size:10px;fill:var(--muted)}
.grid{stroke:var(--line)}.zero{stroke:#9ca3af}
.line{stroke-width:2}
rect.mark:hover,circle.mark:hover{opacity:.75}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
.note{color:var(--muted);font-size:12px;margin:4px 0 0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:right}
th[scope=row],thead th:first-child{text-align:left}
thead th{color:var(--muted);font-weight:500}
.empty{color:var(--muted)}.ok{color:var(--good)}
footer{color:var(--muted);font-size:12px;padding:0 32px 24px;max-width:1280px;margin:0 auto}
"""


def render(con: duckdb.DuckDBPyConnection, quality: Sequence[QualityResult] | None) -> str:
    """The dashboard page of the published file `con` reads."""
    (as_of,) = con.execute(QUERIES["as_of"]).fetchone()
    sections = _sections(con, quality)
    nav = "".join(f'<a href="#{s.anchor}">{escape(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section id="{s.anchor}" aria-labelledby="{s.anchor}-h">'
        f'<h2 id="{s.anchor}-h">{escape(s.title)}</h2>'
        f'<p class="intro">{escape(s.intro)}</p>'
        + (f'<div class="tiles">{"".join(kpi_tile(t) for t in s.tiles)}</div>' if s.tiles else "")
        + (f'<div class="charts">{"".join(s.charts)}</div>' if s.charts else "")
        + s.extra
        + "</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>KPI dashboard – {as_of.isoformat()}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Omnichannel KPI dashboard</h1><p>Data as of {as_of.isoformat()} · "
        "built from the published marts</p></header>"
        f"<nav>{nav}</nav><main>{body}</main>"
        "<footer>Every figure comes from the published marts (personal data hashed, "
        "quasi-identifiers generalised); no customer-level data is shown. Definitions: "
        "the marts' dbt docs and the comments of the published file.</footer>"
        "</body></html>\n"
    )


@dataclass(frozen=True)
class DashboardResult:
    path: Path
    charts: list[str]  # data-chart names, in page order


def build_dashboard(
    published: Path, output_dir: Path, quality: Sequence[QualityResult] | None = None
) -> DashboardResult:
    """Render the dashboard of the published file into `output_dir/index.html`, swapped in
    by an atomic rename: a browser never loads half a page."""
    con = connect_reader(published)
    try:
        page = render(con, quality)
    finally:
        con.close()
    final = write_page(output_dir / DASHBOARD_NAME, page)
    return DashboardResult(final, re.findall(r'data-chart="([^"]+)"', page))


def write_page(path: Path, page: str) -> Path:
    """Write `page` to `path` by an atomic rename: a browser never loads half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temp.write_text(page, encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path
