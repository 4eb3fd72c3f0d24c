"""Rules of the dbt project's SQL that its linter cannot see, checked on the parsed manifest."""

import re

from orchestration.project import load_manifest

IMPORT_CTE = re.compile(
    r"^(?P<name>\w+) as (?P<hint>\{\{ not_materialized\(\) \}\} )?\(\s*select \* from "
    r"\{\{ (?:ref|source)\('(?P<relation>\w+)'(?:, '(?P<table>\w+)')?\) \}\}",
    re.MULTILINE,
)


def test_an_import_cte_of_a_table_read_more_than_once_is_not_materialized():
    """DuckDB materialises a CTE read more than once: every column of every row, before
    any filter or column pruning (duckdb/duckdb#20958). For a CTE that only names a
    table, reading the table again costs less: dim_customers reads fct_touchpoints seven
    times (73 s -> 65 s at 1M customers), and an identity increment that reads the
    state table twice skips its unchanged rows instead of copying all of them. A view
    stays materialised: it would be computed again at each read."""
    manifest = load_manifest()
    materialized = {
        node["name"]: node["config"].get("materialized", "seed")
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
    }
    wrong = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        sql = node["raw_code"]
        for cte in IMPORT_CTE.finditer(sql):
            is_table = cte["table"] or materialized[cte["relation"]] != "view"
            reads = len(re.findall(rf"\b(?:from|join)\s+{cte['name']}\b", sql[cte.end() :]))
            if is_table and (reads > 1) != bool(cte["hint"]):
                wrong.append(f"{node['name']}: {cte['name']} (read {reads} times)")
    assert wrong == []
