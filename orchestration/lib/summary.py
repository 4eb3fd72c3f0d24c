"""The short report `make run` prints after a pipeline run, read from the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb


@dataclass
class CheckTally:
    passed: int = 0
    failed: int = 0  # ERROR severity: blocks what is downstream
    warned: int = 0  # WARN severity: recorded, blocks nothing
    failures: list[str] = field(default_factory=list)

    def add(self, name: str, passed: bool, blocking: bool, why: str | None = None) -> None:
        if passed:
            self.passed += 1
            return
        if blocking:
            self.failed += 1
        else:
            self.warned += 1
        line = f"{'FAILED' if blocking else 'warning'}: {name}"
        self.failures.append(f"{line} ({why})" if why else line)


@dataclass
class RunReport:
    """What a run's summary shows, each part only if this run produced it: the source
    table if ingestion ran, the headline if the customer marts were rebuilt, model lines
    if the models ran."""

    sources: list[tuple]
    headline: dict[str, object] | None
    models: list[str]


# Assets a part of the summary is read from: a part shows only if this run built them.
HEADLINE_ASSETS = {"marts/dim_customers", "marts/fct_orders"}
CLV_ASSET = "ml/customer_clv"
CHURN_ASSET = "ml/churn_model_metrics"
FEEDBACK_ASSET = "ml/feedback_text_scores"


def run_report(
    con: duckdb.DuckDBPyConnection, run_id: str, as_of: object, built: set[str]
) -> RunReport:
    """The summary of run `run_id`, which materialised the assets `built` (user strings)."""
    ingested = any(key.startswith("raw/") for key in built)
    models = []
    if CLV_ASSET in built or CHURN_ASSET in built:
        models = model_lines(con, run_id, as_of)
    if FEEDBACK_ASSET in built:
        models.append(feedback_line(con))
    return RunReport(
        source_table(con, run_id) if ingested else [],
        headline(con) if built >= HEADLINE_ASSETS else None,
        models,
    )


def source_table(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple]:
    """Per source: files new in this run, then files loaded / duplicate / quarantined /
    skipped and rows loaded / rejected over everything ingested so far."""
    return con.execute(
        """
        select
            source,
            count(*) filter (where batch_id = $run_id) as files_new,
            count(*) filter (where status = 'loaded') as files_loaded,
            count(*) filter (where status = 'duplicate') as files_duplicate,
            count(*) filter (where status = 'quarantined') as files_quarantined,
            count(*) filter (where status = 'skipped') as files_skipped,
            coalesce(sum(rows_loaded), 0) as rows_loaded,
            coalesce(sum(rows_rejected), 0) as rows_rejected
        from raw._files
        group by source
        order by source
        """,
        {"run_id": run_id},
    ).fetchall()


def headline(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
    orders, revenue = con.execute(
        "select count(*), coalesce(sum(revenue_usd), 0) from marts.fct_orders"
    ).fetchone()
    return {"customers": customers, "orders": orders, "revenue_usd": revenue}


def model_lines(con: duckdb.DuckDBPyConnection, run_id: str, as_of: object) -> list[str]:
    """One line for the CLV of the as-of date, one for the churn model of this run."""
    models, customers, total = con.execute(
        "select string_agg(distinct model), count(*), coalesce(sum(clv_365d), 0) "
        "from ml.customer_clv where as_of_date = ?",
        [as_of],
    ).fetchone()
    lines = [
        f"CLV ({models}): {customers:,} customers, 365-day CLV {total:,.2f} USD"
        if customers
        else "CLV: none this run (see the clv_models step)"
    ]
    metrics = {
        name: (auc, error)
        for name, auc, error in con.execute(
            "select model_name, roc_auc, calibration_error from ml.churn_model_metrics "
            "where run_id = ?",
            [run_id],
        ).fetchall()
    }
    if metrics:
        auc, error = metrics["gradient_boosting"]
        lines.append(
            f"churn model ROC AUC {auc:.3f} (calibration error {error:.3f}), baselines: days "
            f"since last purchase {metrics['baseline_recency'][0]:.3f}, "
            f"BG/NBD {metrics['baseline_bgnbd'][0]:.3f}"
        )
    else:
        lines.append("churn model: none this run (see the churn_model step)")
    return lines


def feedback_line(con: duckdb.DuckDBPyConnection) -> str:
    """The scored texts by language, their negative share and most negative topic."""
    texts, english, chinese, negative, topic = con.execute(
        """
        select count(*), count(*) filter (where language = 'en'),
            count(*) filter (where language = 'zh'),
            avg((sentiment_label = 'negative')::int),
            (
                select primary_topic from ml.feedback_text_scores
                where sentiment_label = 'negative'
                group by primary_topic order by count(*) desc, primary_topic limit 1
            )
        from ml.feedback_text_scores
        """
    ).fetchone()
    if not texts:
        return "feedback texts: none scored"
    return (
        f"feedback texts: {texts:,} scored (en {english:,}, zh {chinese:,}), "
        f"{negative:.1%} negative, most often about {topic or 'nothing'}"
    )


def format_summary(report: RunReport, checks: CheckTally, published: str) -> str:
    header = ("source", "new files", "loaded", "duplicate", "quarantined", "skipped")
    header += ("rows loaded", "rows rejected")
    widths = (24, 10, 8, 11, 13, 9, 13, 15)
    lines = []
    if report.sources:
        lines.append(
            "".join(
                h.ljust(w) if i == 0 else h.rjust(w)
                for i, (h, w) in enumerate(zip(header, widths, strict=True))
            )
        )
        for row in report.sources:
            lines.append(
                "".join(
                    str(v).ljust(w) if i == 0 else f"{v:,}".rjust(w)
                    for i, (v, w) in enumerate(zip(row, widths, strict=True))
                )
            )
    else:
        lines.append("sources: nothing ingested in this run")
    figures = report.headline
    lines += [
        "",
        f"customers: {figures['customers']:,}   orders: {figures['orders']:,}"
        f"   revenue (USD): {figures['revenue_usd']:,.2f}"
        if figures
        else "customers, orders, revenue: the marts were not rebuilt in this run",
        *report.models,
        f"checks: {checks.passed} passed, {checks.failed} failed, {checks.warned} warnings",
        *(f"  {line}" for line in checks.failures),
        f"published: {published}",
    ]
    return "\n".join(lines)
