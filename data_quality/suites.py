"""Great Expectations suites per warehouse layer: raw from the landing contract,
staging and marts from the dbt data tests of the manifest (a rule is written once).

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


# --- staging and marts: the dbt data tests, translated --------------------------------

# Each table's dbt data tests that judge rows one by one become GX expectations, and
# its uniqueness test the suite's key (the grain): a rule is written once, in the dbt
# YAML. Relationships to another model and singular tests run in dbt only (blocking
# Dagster checks on the model).
GRAIN_TESTS = ("unique", "unique_combination_of_columns")


def _severity(test: dict) -> str:
    return WARN if test["config"]["severity"].lower() == "warn" else ERROR


def _column_expectations(test: dict, seeds: dict[str, dict]) -> list[Expect]:
    """What a generic test checks of each value of its columns."""
    kind, kwargs = test["test_metadata"]["name"], test["test_metadata"]["kwargs"]
    severity = _severity(test)
    column = kwargs.get("column_name")
    if kind == "column_rules":
        ranges = kwargs.get("accepted_range", {})
        return [
            *(not_null(c, severity) for c in kwargs.get("not_null", [])),
            *(between(c, 0, severity=severity) for c in kwargs.get("not_negative", [])),
            *(in_set(c, v, severity) for c, v in kwargs.get("accepted_values", {}).items()),
            *(
                between(c, b.get("min_value"), b.get("max_value"), severity)
                for c, b in ranges.items()
            ),
        ]
    if kind == "not_negative":
        return [between(column, 0, severity=severity)]
    if kind == "accepted_range":
        return [between(column, kwargs.get("min_value"), kwargs.get("max_value"), severity)]
    if kind == "accepted_values":
        return [in_set(column, kwargs["values"], severity)]
    seed = next((seeds[n] for n in test["depends_on"]["nodes"] if n in seeds), None)
    if kind == "relationships" and seed:
        values = _seed_column(seed["name"], kwargs["field"])
        return [in_set(column, values, severity, f"a {kwargs['field']} of seed {seed['name']}")]
    return []


def _test_expectations(test: dict, seeds: dict[str, dict], derived: dict[str, str]):
    """A test's expectations. A row condition (expression_is_true) and a test's `where`
    read a derived column, added to `derived`: `violates_<n>`, or the column's values
    where the condition holds and null elsewhere (GX passes nulls)."""
    kwargs, where = test["test_metadata"]["kwargs"], test["config"].get("where")
    if test["test_metadata"]["name"] == "expression_is_true":
        name = f"violates_{len(derived) + 1}"
        derived[name] = f"coalesce(not ({kwargs['expression']}), false)"
        if where:
            derived[name] = f"case when {where} then {derived[name]} end"
        return [in_set(name, [False], _severity(test), f"holds: {kwargs['expression']}")]
    exps = _column_expectations(test, seeds)
    if not where:
        return exps
    scoped = []
    for e in exps:
        name = f"{e.columns[0]}_where_{len(derived) + 1}"
        derived[name] = f'case when {where} then "{e.columns[0]}" end'
        scoped.append(Expect(e.kind, e.severity, {**e.kwargs, "column": name}, f"where {where}"))
    return scoped


def _grain(asset: str, tests: list[dict]) -> tuple[str, ...]:
    """A table's key: its one uniqueness test, or the one marked `meta: {grain: true}`."""
    keys = [t for t in tests if t["test_metadata"]["name"] in GRAIN_TESTS]
    if len(keys) > 1:
        keys = [t for t in keys if t["config"]["meta"].get("grain")]
    if len(keys) != 1:
        raise ValueError(
            f"{asset}: no grain - give it one unique or unique_combination_of_columns test, "
            "or mark one of several with `config: {meta: {grain: true}}`"
        )
    kwargs = keys[0]["test_metadata"]["kwargs"]
    return tuple(kwargs.get("combination_of_columns") or [kwargs["column_name"]])


def _tests_by_table(manifest: dict, schemas: tuple[str, ...]) -> dict[str, list[dict]]:
    tests: dict[str, list[dict]] = {}
    for unique_id in sorted(manifest["nodes"]):
        test = manifest["nodes"][unique_id]
        if test["resource_type"] != "test" or "test_metadata" not in test:
            continue
        parent = test.get("attached_node") or test["depends_on"]["nodes"][-1]
        table = manifest["nodes"].get(parent) or manifest["sources"].get(parent)
        if table and table["schema"] in schemas:
            tests.setdefault(parent, []).append(test)
    return tests


def dbt_suites(manifest: dict, layer: str) -> list[TableSuite]:
    """A suite per table of the layer (staging: schema `staging`; marts: `marts` and the
    models' outputs in `ml`), from its data tests in the dbt manifest."""
    schemas = {"staging": ("staging",), "marts": ("marts", "ml")}[layer]
    seeds = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "seed"}
    suites = []
    for parent, tests in _tests_by_table(manifest, schemas).items():
        table = manifest["nodes"].get(parent) or manifest["sources"][parent]
        asset = f"{table['schema']}.{table['name']}"
        key, derived = _grain(asset, tests), {}
        exps = {e.check_name: e for e in unique(key)}
        for test in tests:  # a key's not_null rules are the key's own: written once
            for e in _test_expectations(test, seeds, derived):
                exps.setdefault(e.check_name, e)
        config = table["config"]
        changed = None
        if config.get("materialized") == "incremental":
            # what a changed row is stamped with: its raw load (staging's delete+insert)
            # or its build (replace_keys)
            replaced = config.get("incremental_strategy") == "replace_keys"
            changed = "_changed_at" if replaced else "_ingested_at"
        suites.append(
            TableSuite(
                layer,
                table["schema"],
                table["name"],
                tuple(exps.values()),
                key,
                derived,
                changed_column=changed,
                # the models' outputs gain the rows of each run's as-of date, unless their
                # YAML says they have none (meta as_of_column: null)
                as_of_column=table["meta"].get("as_of_column", "as_of_date")
                if table["schema"] == "ml"
                else None,
            )
        )
    return sorted(suites, key=lambda s: s.asset)


def layer_suites(layer: str, manifest: dict | None = None) -> list[TableSuite]:
    """The layer's suites: raw from the landing contract, staging and marts from the dbt
    manifest (the project's own, parsed if out of date, unless one is given)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown data quality layer {layer!r}: one of {', '.join(LAYERS)}")
    if layer == "raw":
        return raw_suites()
    if manifest is None:
        from orchestration.project import load_manifest

        manifest = load_manifest()
    return dbt_suites(manifest, layer)
