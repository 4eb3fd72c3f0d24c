"""The landing contract (v1) as data: the one definition every layer reads.

Ingestion builds its readers, type checks and raw tables from it, the generator
writes files from it, and tests feed bad input against it. See
`../shared/landing-contract.md` for the prose version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Contract types mapped to the DuckDB type a valid value is stored as in `raw`.
# `ts` values are stored as naive UTC timestamps (an offset is applied, a naive
# value is taken as UTC), so downstream never depends on a session time zone.
DUCKDB_TYPES = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "ts": "TIMESTAMP",
    "date": "DATE",
    "money": "DECIMAL(18,2)",
    "int": "BIGINT",
    "number": "DOUBLE",
    "bool": "BOOLEAN",
}

# Identifier kinds a column can carry (see "Identifiers" in the contract).
IDENTIFIER_KINDS = (
    "customer_ref",
    "email",
    "phone",
    "loyalty_id",
    "device_id",
    "cookie_id",
    "social_handle",
    "card_hash",
)

# Lineage columns every raw table carries after the contract columns.
RAW_METADATA_COLUMNS = {
    "_extra": "JSON",  # unknown extra columns of the file, by lower-cased name
    "_file": "VARCHAR",  # path relative to LANDING_DIR
    "_line": "BIGINT",  # 1-based physical line (CSV/JSONL) or row number (Parquet)
    "_delivery_date": "DATE",
    "_batch_id": "VARCHAR",
    "_ingested_at": "TIMESTAMP",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    values: tuple[str, ...] = ()  # domain of an `enum`
    identifier: str | None = None  # identifier kind, when the column carries one

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class RowRule:
    """A domain rule across columns: `violated_when` is a SQL predicate over the
    typed columns that is true for a row breaking the rule."""

    column: str
    reason: str
    violated_when: str


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    rules: tuple[RowRule, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def version_column(self) -> str | None:
        """The column whose latest value wins among versions of one natural key."""
        return "updated_at" if "updated_at" in self.column_names else None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str = "text", *, req: bool = False, values=(), ident=None) -> Column:
    if values:
        type_ = "enum"
    return Column(name, type_, req, tuple(values), ident)


CURRENCY = _c("currency", "text")
TOUCHPOINTS = ("web", "app", "store", "service", "delivery")

SOURCES: tuple[Source, ...] = (
    Source(
        "crm_customers",
        "CRM customer master, one row per profile version",
        (
            _c("customer_ref", "id", req=True, ident="customer_ref"),
            _c("updated_at", "ts", req=True),
            _c("first_name"),
            _c("last_name"),
            _c("email", ident="email"),
            _c("phone", ident="phone"),
            _c("loyalty_id", ident="loyalty_id"),
            _c("birth_date", "date"),
            _c("gender"),
            _c("city"),
            _c("country"),
            _c("signup_date", "date"),
            _c("marketing_consent", "bool"),
            _c("is_deleted", "bool"),
        ),
        natural_key=("customer_ref",),
    ),
    Source(
        "web_orders",
        "E-commerce orders from the web and app storefronts",
        (
            _c("order_id", "id", req=True),
            _c("order_ts", "ts", req=True),
            _c("updated_at", "ts"),
            _c("storefront", req=True, values=("web", "app")),
            _c(
                "status",
                req=True,
                values=("placed", "shipped", "delivered", "cancelled", "returned"),
            ),
            _c("customer_ref", ident="customer_ref"),
            _c("email", ident="email"),
            _c("phone", ident="phone"),
            _c("loyalty_id", ident="loyalty_id"),
            _c("cookie_id", ident="cookie_id"),
            _c("device_id", ident="device_id"),
            CURRENCY,
            _c("gross_amount", "money", req=True),
            _c("discount_amount", "money"),
            _c("net_amount", "money", req=True),
            _c("item_count", "int"),
            _c("coupon_code"),
            _c("ship_city"),
            _c("ship_country"),
        ),
        natural_key=("order_id",),
        rules=(
            RowRule("gross_amount", "gross_amount is negative", "gross_amount < 0"),
            RowRule("discount_amount", "discount_amount is negative", "discount_amount < 0"),
            RowRule("net_amount", "net_amount is negative", "net_amount < 0"),
            RowRule("item_count", "item_count is negative", "item_count < 0"),
        ),
    ),
    Source(
        "pos_transactions",
        "Physical store sales and returns",
        (
            _c("transaction_id", "id", req=True),
            _c("store_id", "id", req=True),
            _c("txn_ts", "ts", req=True),
            _c("txn_type", req=True, values=("sale", "return")),
            _c("loyalty_id", ident="loyalty_id"),
            _c("phone", ident="phone"),
            _c("card_hash", ident="card_hash"),
            CURRENCY,
            _c("gross_amount", "money", req=True),
            _c("discount_amount", "money"),
            _c("net_amount", "money", req=True),
            _c("item_count", "int"),
            _c("original_transaction_id"),
        ),
        natural_key=("transaction_id",),
        rules=(
            RowRule(
                "net_amount",
                "net_amount must be negative for a return and not negative for a sale",
                "(txn_type = 'return' and net_amount > 0)"
                " or (txn_type = 'sale' and net_amount < 0)",
            ),
            RowRule("discount_amount", "discount_amount is negative", "discount_amount < 0"),
            RowRule("item_count", "item_count is negative", "item_count < 0"),
        ),
    ),
    Source(
        "web_sessions",
        "Web analytics sessions",
        (
            _c("session_id", "id", req=True),
            _c("session_start", "ts", req=True),
            _c("cookie_id", "id", req=True, ident="cookie_id"),
            _c("customer_ref", ident="customer_ref"),
            _c(
                "traffic_source",
                values=(
                    "organic",
                    "paid_search",
                    "social",
                    "email",
                    "sms",
                    "direct",
                    "referral",
                    "affiliate",
                    "display",
                ),
            ),
            _c("campaign_id"),
            _c("landing_page"),
            _c("device_type", values=("desktop", "mobile", "tablet")),
            _c("pageviews", "int"),
            _c("order_id"),
        ),
        natural_key=("session_id",),
        rules=(RowRule("pageviews", "pageviews is negative", "pageviews < 0"),),
    ),
    Source(
        "app_events",
        "Mobile app analytics events",
        (
            _c("event_id", "id", req=True),
            _c("event_ts", "ts", req=True),
            _c("device_id", "id", req=True, ident="device_id"),
            _c("customer_ref", ident="customer_ref"),
            _c("platform", values=("ios", "android")),
            _c("session_id"),
            _c(
                "event_type",
                req=True,
                values=(
                    "app_open",
                    "product_view",
                    "add_to_cart",
                    "checkout_start",
                    "purchase",
                    "push_open",
                ),
            ),
            _c("order_id"),
            _c("campaign_id"),
        ),
        natural_key=("event_id",),
    ),
    Source(
        "social_interactions",
        "Interactions with the brand's social accounts",
        (
            _c("interaction_id", "id", req=True),
            _c("interaction_ts", "ts", req=True),
            _c(
                "platform",
                req=True,
                values=("wechat", "weibo", "instagram", "facebook", "x", "tiktok"),
            ),
            _c("handle", "id", req=True, ident="social_handle"),
            _c("customer_ref", ident="customer_ref"),
            _c(
                "interaction_type",
                req=True,
                values=("follow", "like", "comment", "share", "mention", "direct_message"),
            ),
            _c("text"),
        ),
        natural_key=("interaction_id",),
    ),
    Source(
        "campaign_events",
        "Outbound messaging events: email, SMS and push",
        (
            _c("event_id", "id", req=True),
            _c("event_ts", "ts", req=True),
            _c("campaign_id", "id", req=True),
            _c("channel", req=True, values=("email", "sms", "push")),
            _c("email", ident="email"),
            _c("phone", ident="phone"),
            _c("device_id", ident="device_id"),
            _c(
                "event_type",
                req=True,
                values=(
                    "sent",
                    "delivered",
                    "open",
                    "click",
                    "bounce",
                    "unsubscribe",
                    "complaint",
                    "conversion",
                ),
            ),
            _c("order_id"),
        ),
        natural_key=("event_id",),
    ),
    Source(
        "service_tickets",
        "Call center, chat and in-store service tickets",
        (
            _c("ticket_id", "id", req=True),
            _c("opened_ts", "ts", req=True),
            _c("updated_at", "ts"),
            _c("closed_ts", "ts"),
            _c(
                "contact_channel",
                req=True,
                values=("phone", "chat", "email", "store", "social"),
            ),
            _c("customer_ref", ident="customer_ref"),
            _c("email", ident="email"),
            _c("phone", ident="phone"),
            _c(
                "category",
                req=True,
                values=("complaint", "inquiry", "return", "technical", "billing", "praise"),
            ),
            _c("priority", values=("low", "normal", "high", "urgent")),
            _c("status", req=True, values=("open", "pending", "resolved", "closed")),
            _c("first_response_minutes", "number"),
            _c("reopened_count", "int"),
            _c("text"),
        ),
        natural_key=("ticket_id",),
        rules=(
            RowRule("closed_ts", "closed_ts is before opened_ts", "closed_ts < opened_ts"),
            RowRule(
                "first_response_minutes",
                "first_response_minutes is negative",
                "first_response_minutes < 0",
            ),
            RowRule("reopened_count", "reopened_count is negative", "reopened_count < 0"),
        ),
    ),
    Source(
        "survey_responses",
        "NPS, CSAT and CES survey responses",
        (
            _c("response_id", "id", req=True),
            _c("response_ts", "ts", req=True),
            _c("survey_type", req=True, values=("nps", "csat", "ces")),
            _c("score", "int", req=True),
            _c("touchpoint", values=TOUCHPOINTS),
            _c("customer_ref", ident="customer_ref"),
            _c("email", ident="email"),
            _c("phone", ident="phone"),
            _c("related_id"),
            _c("comment"),
        ),
        natural_key=("response_id",),
        rules=(
            RowRule(
                "score",
                "score outside the survey's scale (nps 0..10, csat 1..5, ces 1..7)",
                "(survey_type = 'nps' and score not between 0 and 10)"
                " or (survey_type = 'csat' and score not between 1 and 5)"
                " or (survey_type = 'ces' and score not between 1 and 7)",
            ),
        ),
    ),
    Source(
        "loyalty_ledger",
        "Loyalty points ledger entries",
        (
            _c("entry_id", "id", req=True),
            _c("entry_ts", "ts", req=True),
            _c("loyalty_id", "id", req=True, ident="loyalty_id"),
            _c(
                "entry_type",
                req=True,
                values=("earn", "redeem", "expire", "adjust", "bonus"),
            ),
            _c("points", "int", req=True),
            _c("source_channel", values=("web", "app", "store", "partner", "system")),
            _c("related_id"),
            _c("reason"),
        ),
        natural_key=("entry_id",),
        rules=(
            RowRule(
                "points",
                "points sign does not match entry_type (earn/bonus > 0, redeem/expire < 0)",
                "(entry_type in ('earn', 'bonus') and points <= 0)"
                " or (entry_type in ('redeem', 'expire') and points >= 0)",
            ),
        ),
    ),
    Source(
        "marketing_spend",
        "Daily paid marketing spend per channel and campaign",
        (
            _c("spend_date", "date", req=True),
            _c(
                "channel",
                req=True,
                values=(
                    "paid_search",
                    "social",
                    "email",
                    "sms",
                    "display",
                    "affiliate",
                    "store_promo",
                ),
            ),
            _c("campaign_id", "id", req=True),
            _c("spend", "money", req=True),
            CURRENCY,
            _c("impressions", "int"),
            _c("clicks", "int"),
        ),
        natural_key=("spend_date", "channel", "campaign_id"),
        rules=(
            RowRule("spend", "spend is negative", "spend < 0"),
            RowRule("impressions", "impressions is negative", "impressions < 0"),
            RowRule("clicks", "clicks is negative", "clicks < 0"),
        ),
    ),
    Source(
        "experiment_assignments",
        "Incentive A/B test assignments",
        (
            _c("experiment_id", "id", req=True),
            _c("variant", "id", req=True),
            _c("assigned_ts", "ts", req=True),
            _c(
                "incentive_type",
                values=(
                    "double_points",
                    "coupon",
                    "birthday_bonus",
                    "free_shipping",
                    "tier_upgrade",
                    "none",
                ),
            ),
            _c("customer_ref", ident="customer_ref"),
            _c("loyalty_id", ident="loyalty_id"),
            _c("email", ident="email"),
        ),
        # No record id in the contract: an assignment is one subject in one
        # experiment, the subject being the first identifier present.
        natural_key=("experiment_id", "customer_ref", "loyalty_id", "email"),
        rules=(
            RowRule(
                "customer_ref",
                "no subject identifier (customer_ref, loyalty_id or email)",
                "customer_ref is null and loyalty_id is null and email is null",
            ),
        ),
    ),
)

SOURCES_BY_NAME: dict[str, Source] = {s.name: s for s in SOURCES}
FORMATS = ("csv", "jsonl", "parquet")
COMPRESSIONS = ("", ".gz")


def raw_table_ddl(source: Source, schema: str = "raw") -> str:
    """`create table if not exists` for a source's raw table: contract columns, typed,
    then the lineage columns."""
    cols = [f'"{c.name}" {c.duckdb_type}' for c in source.columns]
    cols += [f"{name} {type_}" for name, type_ in RAW_METADATA_COLUMNS.items()]
    body = ",\n    ".join(cols)
    return f"create table if not exists {schema}.{source.name} (\n    {body}\n)"
