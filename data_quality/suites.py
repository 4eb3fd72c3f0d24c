"""Great Expectations suites as code, per warehouse layer: raw, staging, marts.

A suite is plain data (`TableSuite`: a table, the columns to read, expectations
with a severity) so that Dagster can list the checked tables without importing
GX; `TableSuite.to_gx()` turns it into a `gx.ExpectationSuite` when it runs.
Severity `ERROR` marks data that must not be published (a blocking check),
`WARN` data worth a look that is still usable.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

from orchestration.lib.contract import SOURCES, Source
from orchestration.lib.settings import REPO_ROOT

ERROR = "ERROR"
WARN = "WARN"
LAYERS = ("raw", "staging", "marts")
SEEDS_DIR = REPO_ROOT / "seeds"
# Columns an expectation reads, by the GX argument that names them.
_COLUMN_ARGS = ("column", "column_A", "column_B", "column_list")
# Expectations that judge each row on its own (no uniqueness, no aggregate).
ROW_WISE_KINDS = frozenset(
    {
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeInSet",
        "ExpectColumnValuesToBeBetween",
        "ExpectColumnPairValuesAToBeGreaterThanB",
    }
)


@dataclass(frozen=True)
class Expect:
    """One expectation: a `great_expectations.expectations` class name and its arguments."""

    kind: str
    severity: str
    kwargs: dict[str, Any]
    description: str | None = None

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for arg in _COLUMN_ARGS:
            value = self.kwargs.get(arg)
            cols += value if isinstance(value, list) else [value] if value else []
        return cols

    @property
    def check_name(self) -> str:
        """Expectation type and columns, e.g. `expect_column_values_to_be_unique(order_id)`."""
        snake = "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in self.kind)[1:]
        return f"{snake}({','.join(self.columns)})"


@dataclass(frozen=True)
class TableSuite:
    layer: str
    schema: str
    table: str
    expectations: tuple[Expect, ...]
    order_by: tuple[str, ...]  # a stable row order, so sampled unexpected values repeat
    derived: dict[str, str] = field(default_factory=dict)  # column name -> SQL expression
    # A column naming the load a row came with (raw: `_batch_id`, the run id). Set, every
    # expectation must be row-wise, and only the rows of loads no run has passed yet are
    # validated: a row's verdict cannot change, and raw only grows.
    batch_column: str | None = None
    # A column stamping when a row last changed (an incremental model's `_ingested_at`).
    # Set, a run validates the rows changed since the newest change a passing run
    # validated, with every row sharing its `order_by` key with one of them (the suite's
    # grain: a duplicate key needs a changed row).
    changed_column: str | None = None
    # A column holding the as-of date of the run that wrote the row (the models' output
    # history): a run validates its own as-of date's rows; earlier ones do not change.
    as_of_column: str | None = None

    def __post_init__(self) -> None:
        names = [e.check_name for e in self.expectations]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"suite {self.asset} names a check twice: {', '.join(duplicates)}")
        if self.batch_column and (
            not_row_wise := sorted({e.kind for e in self.expectations} - ROW_WISE_KINDS)
        ):
            raise ValueError(
                f"suite {self.asset} validates new batches only, but {', '.join(not_row_wise)} "
                "judges rows together"
            )
        # Parts of a table and a run's changed rows are cut along the key (`order_by`):
        # an expectation judging rows together sees all the rows it compares only if it
        # compares rows of one key.
        off_key = sorted(
            e.check_name
            for e in self.expectations
            if e.kind not in ROW_WISE_KINDS and set(e.columns) != set(self.order_by)
        )
        if off_key:
            raise ValueError(
                f"suite {self.asset}: {', '.join(off_key)} judges rows together on other "
                f"columns than its key {', '.join(self.order_by)}"
            )

    @property
    def asset(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def has_error(self) -> bool:
        return any(e.severity == ERROR for e in self.expectations)

    def select_sql(self, available: set[str], where: str | None = None) -> str:
        """Only the columns the expectations read (wide tables stay cheap to load) and
        the table has: an expectation on a missing column fails on its own. `where`
        narrows the rows."""
        used = {c for e in self.expectations for c in e.columns}
        cols = [f'"{c}"' for c in sorted((used - self.derived.keys()) & available)]
        cols += [f'({sql}) as "{name}"' for name, sql in self.derived.items() if name in used]
        order = ", ".join(f'"{c}"' for c in self.order_by)
        filtered = f" where {where}" if where else ""
        return (
            f"select {', '.join(cols)} from {self.schema}.{self.table}{filtered} order by {order}"
        )

    def to_gx(self):
        import great_expectations as gx

        suite = gx.ExpectationSuite(name=self.asset)
        for e in self.expectations:
            cls = getattr(gx.expectations, e.kind)
            suite.add_expectation(
                cls(
                    **e.kwargs,
                    meta={"severity": e.severity, "check": e.check_name},
                    description=e.description,
                )
            )
        return suite


def _seed_column(seed: str, column: str) -> list[str]:
    with open(SEEDS_DIR / f"{seed}.csv", newline="", encoding="utf-8") as f:
        return sorted({row[column] for row in csv.DictReader(f)})


def not_null(column: str, severity: str = ERROR) -> Expect:
    return Expect("ExpectColumnValuesToNotBeNull", severity, {"column": column})


def unique(columns: tuple[str, ...], severity: str = ERROR) -> list[Expect]:
    """A key: unique (as a whole) and every part not null."""
    if len(columns) == 1:
        key = Expect("ExpectColumnValuesToBeUnique", severity, {"column": columns[0]})
    else:
        key = Expect("ExpectCompoundColumnsToBeUnique", severity, {"column_list": list(columns)})
    return [key, *(not_null(c, severity) for c in columns)]


def in_set(column: str, values, severity: str = ERROR, description: str | None = None) -> Expect:
    return Expect(
        "ExpectColumnValuesToBeInSet",
        severity,
        {"column": column, "value_set": list(values)},
        description,
    )


def between(column: str, low=None, high=None, severity: str = ERROR) -> Expect:
    """Nulls pass: not_null says whether a value is required."""
    return Expect(
        "ExpectColumnValuesToBeBetween",
        severity,
        {"column": column, "min_value": low, "max_value": high},
    )


# --- raw: the contract beyond types ------------------------------------------------


def raw_suite(source: Source) -> TableSuite:
    """Required values, enum domains, the contract's cross-column rules (sign of amounts,
    survey scales, ticket times...) and no timestamp after the day following delivery
    (an offset can move a late-evening event into the next UTC day)."""
    exps = [not_null(c) for c in source.required_columns]
    exps += [in_set(c.name, c.values) for c in source.columns if c.values]
    derived = {}
    for rule in source.rules:
        name = f"violates_rule_{rule.column}"
        derived[name] = f"coalesce({rule.violated_when}, false)"
        exps.append(in_set(name, [False], description=rule.reason))
    if any(c.type == "ts" for c in source.columns):
        derived["ts_limit"] = "_delivery_date + interval 2 day"
    for c in source.columns:
        if c.type == "ts":
            exps.append(
                Expect(
                    "ExpectColumnPairValuesAToBeGreaterThanB",
                    WARN,
                    {
                        "column_A": "ts_limit",
                        "column_B": c.name,
                        "or_equal": False,
                        "ignore_row_if": "either_value_is_missing",
                    },
                    f"{c.name} is before the end of the day after the delivery date",
                )
            )
    return TableSuite(
        "raw", "raw", source.name, tuple(exps), ("_file", "_line"), derived, "_batch_id"
    )


def raw_suites() -> list[TableSuite]:
    return [raw_suite(s) for s in SOURCES]


# --- staging: keys after dedup, references ------------------------------------------

STAGING_KEYS: dict[str, tuple[str, ...]] = {
    "stg_crm__customers": ("customer_ref",),
    "stg_web__orders": ("order_id",),
    "stg_pos__transactions": ("transaction_id",),
    "stg_web__sessions": ("session_id",),
    "stg_app__events": ("event_id",),
    "stg_social__interactions": ("interaction_id",),
    "stg_campaign__events": ("event_id",),
    "stg_service__tickets": ("ticket_id",),
    "stg_survey__responses": ("response_id",),
    "stg_loyalty__ledger_entries": ("entry_id",),
    "stg_marketing__spend": ("spend_date", "channel", "campaign_id"),
    "stg_experiment__assignments": ("assignment_key",),
}
# A currency without a rate is kept and flagged (fct_orders.has_fx_rate): worth a warning.
STAGING_CURRENCY_TABLES = ("stg_web__orders", "stg_pos__transactions", "stg_marketing__spend")


def staging_suites() -> list[TableSuite]:
    currencies = _seed_column("currency_rates", "currency")
    suites = []
    for table, key in STAGING_KEYS.items():
        exps = unique(key)
        if table in STAGING_CURRENCY_TABLES:
            exps.append(
                in_set("currency", currencies, WARN, "currency has a rate in currency_rates")
            )
        # staging is incremental: a row is new or rewritten when raw brings a version
        suites.append(
            TableSuite("staging", "staging", table, tuple(exps), key, changed_column="_ingested_at")
        )
    return suites


# --- marts: keys, scores, probabilities, values, rates -------------------------------

# Grain of each table (the dbt unique / unique_combination_of_columns tests).
MARTS_KEYS: dict[str, tuple[str, ...]] = {
    "marts.fct_orders": ("order_key",),
    "marts.fct_touchpoints": ("touchpoint_key",),
    "marts.dim_customers": ("customer_id",),
    "marts.fct_customer_journeys": ("customer_id", "touchpoint_sequence"),
    "marts.rpt_cross_channel_paths": ("conversion_path",),
    "marts.customer_rfm": ("customer_id", "as_of_date"),
    "marts.rpt_customer_pareto": ("channel_profile", "top_customer_pct"),
    "marts.customer_rfm_history": ("customer_id", "as_of_date"),
    "marts.rpt_segment_migration": ("from_segment", "to_segment"),
    "marts.rpt_high_value_spend_alerts": ("customer_id",),
    "marts.rpt_clv_by_segment": (
        "rfm_segment",
        "value_tier",
        "channel_profile",
        "first_purchase_channel",
    ),
    "marts.fct_points_ledger": ("entry_id",),
    "marts.rpt_loyalty_daily": ("report_date",),
    "marts.fct_points_expiry_lots": ("entry_id",),
    "marts.rpt_points_expiry_reconciliation": ("loyalty_id",),
    "marts.rpt_loyalty_tier_history": ("customer_id", "period_end"),
    "marts.customer_loyalty_tiers": ("customer_id",),
    "marts.rpt_loyalty_fraud_flags": ("loyalty_id", "flag_reason"),
    "marts.rpt_channel_daily": ("activity_date", "channel"),
    "marts.rpt_campaign_funnel": ("campaign_id", "channel"),
    "marts.rpt_cx_monthly": ("report_month", "touchpoint"),
    "marts.rpt_retention_cohorts": ("cohort_month", "months_since_first_purchase", "first_channel"),
    "marts.rpt_experiment_results": ("experiment_id", "variant"),
    "marts.rpt_nps_by_segment": ("rfm_segment", "channel_profile"),
    "marts.dim_channels": ("channel",),
    "marts.dim_dates": ("date_day",),
    "ml.customer_clv": ("customer_id", "as_of_date"),
    "ml.customer_churn": ("customer_id", "as_of_date"),
}
RFM_SCORES = ("r_score", "f_score", "m_score")
# Shares and rates bounded by their definition (open and click rates are event-based
# and may exceed 1, so they are not here).
MARTS_UNIT_INTERVAL: dict[str, tuple[str, ...]] = {
    "marts.dim_customers": ("p_alive", "churn_probability"),
    "ml.customer_clv": ("p_alive",),
    "ml.customer_churn": ("churn_probability",),
    "marts.rpt_clv_by_segment": ("avg_p_alive", "avg_churn_probability", "high_risk_share"),
    "marts.rpt_channel_daily": ("conversion_rate", "online_return_rate"),
    "marts.rpt_cx_monthly": ("csat_top2_share", "reopen_rate"),
    "marts.rpt_retention_cohorts": ("retention_rate", "repeat_purchase_rate"),
    "marts.rpt_loyalty_daily": ("redemption_rate", "breakage_rate"),
    "marts.rpt_experiment_results": ("conversion_rate", "p_value", "srm_p_value"),
    "marts.rpt_cross_channel_paths": ("customer_share",),
    "marts.rpt_segment_migration": ("share_of_from_segment",),
}
MARTS_NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "marts.dim_customers": ("clv_365d", "lifetime_orders"),
    "marts.rpt_channel_daily": ("return_rate",),
    "ml.customer_clv": ("clv_365d", "expected_purchases_90d", "expected_purchases_365d"),
    "marts.rpt_clv_by_segment": (
        "total_clv_365d_usd",
        "avg_clv_365d_usd",
        "sum_p_alive",
        "sum_churn_probability",
    ),
}


# Incremental marts: the column stamping the build that last wrote a row (every row
# a build writes carries the same stamp; a key's rows are replaced together).
MARTS_CHANGED_AT: dict[str, str] = {
    "marts.fct_touchpoints": "_changed_at",
    "marts.fct_customer_journeys": "_changed_at",
}


# Store returns are not linked to their sales, so a store day's return_rate may exceed
# 1 (documented); for web and app it is the share of the day's orders returned.
MARTS_DERIVED: dict[str, dict[str, str]] = {
    "marts.rpt_channel_daily": {
        "online_return_rate": "case when channel <> 'store' then return_rate end"
    },
}


def _marts_extra(asset: str, segments: list[str], channels: list[str]) -> list[Expect]:
    """Table-specific expectations beyond keys, ranges and non-negative values."""
    scores = [between(c, 1, 5) for c in (*RFM_SCORES, "fm_score")]
    segment = in_set("rfm_segment", segments, description="segment of the rfm_segment_map seed")
    return {
        "marts.customer_rfm": [*scores, segment],
        "marts.customer_rfm_history": [*scores[:3], segment],
        "marts.rpt_high_value_spend_alerts": [segment],
        "marts.rpt_segment_migration": [
            in_set(c, [*segments, "(none)"]) for c in ("from_segment", "to_segment")
        ],
        "marts.dim_customers": [
            between("latest_nps_score", 0, 10),
            between("latest_csat_score", 1, 5),
        ],
        "marts.fct_orders": [in_set("channel", channels)],
        "marts.fct_touchpoints": [in_set("channel", channels)],
        "ml.customer_churn": [in_set("risk_tier", ["high", "medium", "low"])],
        # Returns can push one group's top share outside [0, 1] (documented): a warning.
        "marts.rpt_customer_pareto": [between("revenue_share", 0, 1, WARN)],
        # A send or delivery event rejected at ingestion can lift a small cell's funnel
        # rate above 1 (documented in the YAML): a warning, as the dbt range tests.
        "marts.rpt_campaign_funnel": [
            between(c, 0, 1, WARN)
            for c in ("delivery_rate", "conversion_rate", "bounce_rate", "complaint_rate")
        ],
    }.get(asset, [])


def marts_suites() -> list[TableSuite]:
    segments = _seed_column("rfm_segment_map", "rfm_segment")
    channels = _seed_column("channel_catalog", "channel")
    suites = []
    for asset, key in MARTS_KEYS.items():
        exps = unique(key)
        exps += [between(c, 0, 1) for c in MARTS_UNIT_INTERVAL.get(asset, ())]
        exps += [between(c, 0) for c in MARTS_NON_NEGATIVE.get(asset, ())]
        exps += _marts_extra(asset, segments, channels)
        schema, table = asset.split(".")
        derived = MARTS_DERIVED.get(asset, {})
        as_of = "as_of_date" if schema == "ml" else None  # the models append a date a run
        suites.append(
            TableSuite(
                "marts",
                schema,
                table,
                tuple(exps),
                key,
                derived,
                changed_column=MARTS_CHANGED_AT.get(asset),
                as_of_column=as_of,
            )
        )
    return suites


def layer_suites(layer: str) -> list[TableSuite]:
    builders = {"raw": raw_suites, "staging": staging_suites, "marts": marts_suites}
    if layer not in builders:
        raise ValueError(f"unknown data quality layer {layer!r}: one of {', '.join(LAYERS)}")
    return builders[layer]()
