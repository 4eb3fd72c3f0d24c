"""A model's dbt data tests are one asset check, `dbt_tests`, judged from dbt's results."""

from __future__ import annotations

import json

import dagster as dg

from orchestration.defs.transform.assets import (
    DBT_TESTS_CHECK,
    dbt_tests_verdicts,
    dbt_warehouse,
    translator,
)
from orchestration.project import dbt_project

ORDERS = dg.AssetKey(["marts", "fct_orders"])
ORDERS_CHECK = dg.AssetCheckKey(ORDERS, DBT_TESTS_CHECK)
MANIFEST = json.loads(dbt_project.manifest_path.read_text())


def _tests_of_fct_orders() -> dict[str, str]:
    """unique id -> name of the tests dbt attaches to fct_orders, read from the manifest
    without the code under test: generic tests name it as their attached node, the
    singular ones say so in `meta.dagster.ref` or depend on it alone."""
    model = "model.omnichannel_warehouse.fct_orders"
    return {
        unique_id: node["name"]
        for unique_id, node in MANIFEST["nodes"].items()
        if node["resource_type"] == "test"
        and (
            node.get("attached_node") == model
            or node["config"].get("meta", {}).get("dagster", {}).get("ref", {}).get("name")
            == "fct_orders"
            or node["depends_on"]["nodes"] == [model]
        )
    }


def test_each_model_has_one_check_naming_all_its_tests():
    spec = dbt_warehouse.get_spec_for_check_key(ORDERS_CHECK)
    expected = _tests_of_fct_orders()
    assert len(expected) > 5 and spec.blocking
    model = translator.model_tests(MANIFEST, dbt_project)[ORDERS]
    assert model.tests == dict(sorted(expected.items()))
    assert spec.description == (
        f"The {len(expected)} dbt data tests of this model: " + ", ".join(sorted(expected.values()))
    )
    # the revenue reconciliation test reads the staging tables too
    assert dg.AssetKey(["staging", "stg_web__orders"]) in {
        d.asset_key for d in spec.additional_deps
    }
    # no check per test is left
    assert {key.name for key in dbt_warehouse.check_keys} == {DBT_TESTS_CHECK}


def test_the_check_fails_on_any_failed_test_and_is_an_error_on_a_failure_not_a_warning():
    model_tests = translator.model_tests(MANIFEST, dbt_project)
    tests = sorted(_tests_of_fct_orders())
    name = MANIFEST["nodes"]

    def judged(statuses: dict[str, str]) -> dg.AssetCheckResult:
        results = {
            t: {"status": s, "num_failures": 0 if s == "pass" else 3} for t, s in statuses.items()
        }
        (result,) = dbt_tests_verdicts({ORDERS_CHECK}, model_tests, results)
        return result

    passed = judged(dict.fromkeys(tests, "pass"))
    assert passed.passed and passed.metadata["tests"].value == len(tests)
    assert passed.description == f"{len(tests)} tests passed"

    warned = judged({**dict.fromkeys(tests, "pass"), tests[0]: "warn"})
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.description == f"{name[tests[0]]['name']}: warn (3 rows)"

    failed = judged({**dict.fromkeys(tests, "pass"), tests[0]: "warn", tests[1]: "fail"})
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert set(failed.metadata["failed"].value) == {name[tests[0]]["name"], name[tests[1]]["name"]}

    errored = judged({tests[2]: "error"})  # the others skipped: judged on what ran
    assert errored.severity == dg.AssetCheckSeverity.ERROR and errored.metadata["tests"].value == 1

    # dbt skipped every test of the model (an upstream failure): no verdict at all
    assert list(dbt_tests_verdicts({ORDERS_CHECK}, model_tests, {})) == []
    # a check not selected gets no result even when its tests ran
    assert list(dbt_tests_verdicts(set(), model_tests, {tests[0]: {"status": "pass"}})) == []
