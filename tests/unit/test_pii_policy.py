"""What a published mart must declare in the dbt YAML: its personal columns, its types.

The publish step keyed-hashes the columns marked `meta: {pii: true}` and refuses
e-mail addresses, but only the YAML can say that a customer id (a hash of an
e-mail) or a name is personal: this test keeps new marts from forgetting it.
"""

import re

from orchestration.project import load_manifest

PERSONAL = re.compile(
    r"^(customer_id|customer_ref|loyalty_id|email|phone|first_name|last_name|card_hash"
    r"|birth_date|social_handle|cookie_id|device_id|source_record_id|touchpoint_key)$"
)


def test_personal_columns_of_marts_are_marked_pii():
    manifest = load_manifest()
    marts = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    ]
    assert any(node["name"] == "dim_customers" for node in marts)
    unmarked = [
        f"{node['name']}.{name}"
        for node in marts
        for name, column in node["columns"].items()
        if PERSONAL.match(name) and not column["meta"].get("pii")
    ]
    assert not unmarked, f"personal columns not marked meta: {{pii: true}}: {unmarked}"


def test_every_published_mart_has_an_enforced_contract_typing_each_column():
    """A column's type changing fails the dbt build (the contract), not a BI tool."""
    manifest = load_manifest()
    marts = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    marts = [n for n in marts if n["schema"] == "marts"]
    uncontracted = [n["name"] for n in marts if not n["config"]["contract"]["enforced"]]
    untyped = [
        f"{n['name']}.{name}"
        for n in marts
        for name, column in n["columns"].items()
        if not column.get("data_type")
    ]
    assert not uncontracted, f"marts without an enforced contract: {uncontracted}"
    assert not untyped, f"mart columns without a data_type: {untyped}"
