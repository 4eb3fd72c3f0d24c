"""Run suites against the DuckDB warehouse and store the outcome in `dq.check_results`
(orchestration/lib/quality_report.py renders it, one page per run).

Tables are read into pandas (only the columns a suite needs, every row a run has to
judge: a sample could miss a duplicate key), since GX 1.x has no DuckDB data source
without the duckdb_engine SQLAlchemy dialect. A run judges what can have changed since
a run passed it (`ValidationScope`): the raw loads not passed yet, the rows of
incremental tables changed since (with every row sharing a key with them), the models'
rows of its as-of date; every row of the other tables.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import date, timedelta

import duckdb

from data_quality.suites import ERROR, TableSuite, layer_suites

RESULTS_TABLE = "dq.check_results"
RESULTS_DDL = f"""
create table if not exists {RESULTS_TABLE} (
    run_id varchar not null,
    layer varchar not null,
    asset varchar not null,
    check_name varchar not null,  -- expectation type and columns
    success boolean not null,
    observed_value varchar,
    severity varchar not null,
    unexpected_count bigint,
    primary key (run_id, asset, check_name)
)"""
# Per batch suite (TableSuite.batch_column), the loads whose rows a run has passed:
# later runs validate only the rows of other loads. A load that failed stays out until
# a run passes it (its rows fixed by a reload come with a new load id).
VALIDATED_TABLE = "dq.validated_batches"
VALIDATED_DDL = f"""
create table if not exists {VALIDATED_TABLE} (
    asset varchar not null,
    batch_id varchar not null,
    run_id varchar not null,  -- the run that passed it
    primary key (asset, batch_id)
)"""
# Per changed-row suite (TableSuite.changed_column), the newest change a run validated
# without a blocking failure: later runs validate the rows changed after it. A failed
# run leaves it, so its rows are validated again until a run passes them.
VALIDATED_CHANGES_TABLE = "dq.validated_changes"
VALIDATED_CHANGES_DDL = f"""
create table if not exists {VALIDATED_CHANGES_TABLE} (
    asset varchar primary key,
    changed_until timestamp not null,
    run_id varchar not null  -- the run that passed it
)"""
MISSING_TABLE_CHECK = "expect_table_to_exist()"
# Rows of a table handed to GX at a time (the pipeline passes DQ_CHUNK_ROWS): pandas
# holds about 100-200 bytes a row for the columns a suite reads.
CHUNK_ROWS = 2_000_000
SAMPLE_VALUES = 5


@dataclass(frozen=True)
class ValidationScope:
    """Which rows a run validates besides the raw loads no run has passed: the rows of its
    as-of date in the models' output history, and the rows of incremental tables changed
    since the last passing validation (less `lookback_hours`, the incremental models'
    window) - all of them on a full refresh, which rebuilds those tables."""

    as_of_date: date | None = None
    full_refresh: bool = False
    lookback_hours: int = 0


@dataclass(frozen=True)
class CheckResult:
    run_id: str
    layer: str
    asset: str  # schema.table
    check: str  # expectation type and columns
    success: bool
    observed_value: str | None
    severity: str
    unexpected_count: int | None

    @property
    def blocks(self) -> bool:
        return not self.success and self.severity == ERROR


def _errors(exception: dict | None) -> list[str]:
    """Messages of exception_info: flat, or keyed by metric when metrics failed."""
    if not exception:
        return []
    infos = [exception] if "raised_exception" in exception else list(exception.values())
    return sorted({i["exception_message"] for i in infos if i.get("raised_exception")})


def _observed(result: dict, exception: dict | None) -> str | None:
    """Text of what was seen: the aggregate observed value, or the unexpected count with
    a few distinct unexpected values."""
    errors = _errors(exception)
    if errors:
        return f"error: {'; '.join(errors)}"
    if "observed_value" in result:
        return str(result["observed_value"])
    if "unexpected_count" not in result:
        return None
    text = f"{result['unexpected_count']} unexpected of {result.get('element_count')} rows"
    sample = sorted({str(v) for v in result.get("partial_unexpected_list") or []})
    return text + (f", e.g. {sample[:SAMPLE_VALUES]}" if sample else "")


def _gx_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # Suites, definitions and results stay in memory: dq.check_results keeps the
    # results, and orchestration/lib/quality_report.py renders them (GX's Data Docs load
    # their styles and scripts from CDNs, so they stay blank offline).
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    )
    config.progress_bars = ProgressBarsConfig(globally=False)
    return gx.get_context(project_config=config, mode="ephemeral")


def _table_columns(con: duckdb.DuckDBPyConnection, suite: TableSuite) -> set[str]:
    """Columns of the table or view; empty when it does not exist."""
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [suite.schema, suite.table],
    ).fetchall()
    return {r[0] for r in rows}


def _unchecked_rows(suite: TableSuite) -> str:
    """The rows of a batch suite whose load no run has passed yet."""
    return f"""{suite.batch_column} not in (
        select batch_id from {VALIDATED_TABLE} where asset = '{suite.asset}'
    )"""


def _changed_rows(con, suite: TableSuite, scope: ValidationScope) -> str | None:
    """The rows of a changed-row suite changed since the last passing validation (less the
    lookback window) and every row sharing a key with one of them; None: every row."""
    if scope.full_refresh:
        return None
    row = con.execute(
        f"select changed_until from {VALIDATED_CHANGES_TABLE} where asset = ?", [suite.asset]
    ).fetchone()
    if row is None:
        return None
    since = row[0] - timedelta(hours=scope.lookback_hours)
    changed = f"\"{suite.changed_column}\" > timestamp '{since.isoformat(sep=' ')}'"
    key = ", ".join(f'"{c}"' for c in suite.order_by)
    return (
        f"{changed} or ({key}) in (select {key} from {suite.schema}.{suite.table} where {changed})"
    )


def _rows_to_validate(con, suite: TableSuite, scope: ValidationScope) -> str | None:
    """The suite's where clause for this run (None: every row)."""
    if suite.batch_column:
        return _unchecked_rows(suite)
    if suite.as_of_column and scope.as_of_date:
        return f"\"{suite.as_of_column}\" = date '{scope.as_of_date.isoformat()}'"
    if suite.changed_column:
        return _changed_rows(con, suite, scope)
    return None


def _mark_validated(con, suite: TableSuite, where: str | None, run_id: str) -> None:
    """Record what a run passed: the loads of the rows it validated, or the newest change
    of a changed-row suite's table (every older change has been validated)."""
    table = f"{suite.schema}.{suite.table}"
    if suite.batch_column:
        con.execute(
            f"""
            insert or ignore into {VALIDATED_TABLE}
            select distinct ?, {suite.batch_column}, ?
            from {table}
            where {where}
            """,
            [suite.asset, run_id],
        )
    elif suite.changed_column:
        con.execute(
            f"""
            insert or replace into {VALIDATED_CHANGES_TABLE}
            select ?, max("{suite.changed_column}"), ? from {table}
            having max("{suite.changed_column}") is not null
            """,
            [suite.asset, run_id],
        )


def _merged(by_part) -> tuple[dict, dict | None]:
    """One expectation's results over the parts of a table as one result: counts summed,
    unexpected values of every part, the first error raised."""
    results = [r.result or {} for r in by_part]
    exception = next((r.exception_info for r in by_part if _errors(r.exception_info)), None)
    if len(results) == 1 or any("unexpected_count" not in r for r in results):
        return results[0], exception or by_part[0].exception_info
    return {
        "unexpected_count": sum(r["unexpected_count"] for r in results),
        "element_count": sum(r.get("element_count") or 0 for r in results),
        "partial_unexpected_list": [
            v for r in results for v in r.get("partial_unexpected_list") or []
        ],
    }, exception


def _validate_suite(
    con,
    context,
    suite: TableSuite,
    run_id: str,
    scope: ValidationScope,
    chunk_rows: int,
):
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    columns = _table_columns(con, suite)
    if not columns:
        return [
            CheckResult(
                run_id, suite.layer, suite.asset, MISSING_TABLE_CHECK, False,
                "table not found in the warehouse", ERROR, None,
            )
        ]  # fmt: skip
    where = _rows_to_validate(con, suite, scope)
    table = f"{suite.schema}.{suite.table}"
    rows = con.execute(
        f"select count(*) from {table}" + (f" where {where}" if where else "")
    ).fetchone()[0]
    parts = max(1, math.ceil(rows / chunk_rows))
    batch = (
        context.data_sources.add_pandas(suite.asset)
        .add_dataframe_asset(suite.asset)
        .add_batch_definition_whole_dataframe("all rows")
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=suite.asset, data=batch, suite=context.suites.add(suite.to_gx())
        )
    )
    # Rows of equal keys share a part, so a duplicate key is found within one.
    key = ", ".join(f'"{c}"' for c in suite.order_by)
    outcomes = []
    for part in range(parts):
        in_part = f"hash({key}) % {parts} = {part}" if parts > 1 else None
        frame = con.execute(
            suite.select_sql(columns, " and ".join(f"({w})" for w in (where, in_part) if w))
        ).df()
        name = run_id if parts == 1 else f"{run_id} part {part + 1} of {parts}"
        # BASIC: the counts and a sample of unexpected values, all that is stored; GX's
        # default (SUMMARY) also counts each unexpected value, a third of its time here.
        outcome = definition.run(
            batch_parameters={"dataframe": frame},
            run_id=RunIdentifier(run_name=name),
            result_format="BASIC",
        )
        del frame
        outcomes.append(outcome.results)
    results = []
    for by_part in zip(*outcomes, strict=True):
        meta = by_part[0].expectation_config.meta
        result, exception = _merged(by_part)
        results.append(
            CheckResult(
                run_id=run_id,
                layer=suite.layer,
                asset=suite.asset,
                check=meta["check"],
                success=all(r.success for r in by_part),
                observed_value=_observed(result, exception),
                severity=meta["severity"],
                unexpected_count=result.get("unexpected_count"),
            )
        )
    if not any(r.blocks for r in results):
        _mark_validated(con, suite, where, run_id)
    return sorted(results, key=lambda c: c.check)


def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists dq")
    con.execute(RESULTS_DDL)
    con.execute(VALIDATED_DDL)
    con.execute(VALIDATED_CHANGES_DDL)


def store_results(con: duckdb.DuckDBPyConnection, results: list[CheckResult]) -> None:
    """Replace the rows of these (run, asset) pairs: a rerun of a run overwrites them."""
    ensure_results_table(con)
    pairs = sorted({(r.run_id, r.asset) for r in results})
    con.execute("begin")
    try:
        con.executemany(f"delete from {RESULTS_TABLE} where run_id = ? and asset = ?", pairs)
        if results:
            con.executemany(
                f"insert into {RESULTS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
                [astuple(r) for r in results],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def load_results(con: duckdb.DuckDBPyConnection, run_id: str) -> list[CheckResult]:
    """A run's stored results (none when the table does not exist yet)."""
    ensure_results_table(con)
    rows = con.execute(
        f"select * from {RESULTS_TABLE} where run_id = ? order by asset, check_name", [run_id]
    ).fetchall()
    return [CheckResult(*row) for row in rows]


def validate(
    con: duckdb.DuckDBPyConnection,
    suites: Iterable[TableSuite],
    run_id: str,
    scope: ValidationScope = ValidationScope(),
    chunk_rows: int = CHUNK_ROWS,
) -> list[CheckResult]:
    """Validate each suite's table (the rows `scope` and the suite select) and store the
    results in dq.check_results. A table with
    more than `chunk_rows` rows to judge is read in parts of about that many (by a hash
    of its key), so memory does not grow with it."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    context = _gx_context()
    ensure_results_table(con)  # batch and changed-row suites read what was passed
    results = [
        r for s in suites for r in _validate_suite(con, context, s, run_id, scope, chunk_rows)
    ]
    store_results(con, results)
    return results


def run_layer(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    run_id: str,
    tables: Iterable[str] | None = None,
    scope: ValidationScope = ValidationScope(),
    chunk_rows: int = CHUNK_ROWS,
) -> list[CheckResult]:
    """Validate a layer (`raw`, `staging`, `marts`), or only its `tables` (schema.table)."""
    suites = layer_suites(layer)
    if tables is not None:
        wanted = set(tables)
        unknown = wanted - {s.asset for s in suites}
        if unknown:
            raise ValueError(f"no {layer} suite for {', '.join(sorted(unknown))}")
        suites = [s for s in suites if s.asset in wanted]
    return validate(con, suites, run_id, scope, chunk_rows)
