"""Every personal column of a published mart is marked for masking in the dbt YAML.

The publish step keyed-hashes the columns marked `meta: {pii: true}` and refuses
e-mail addresses, but only the YAML can say that a customer id (a hash of an
e-mail) or a name is personal: this test keeps new marts from forgetting it.
"""

import json
import re

from orchestration.project import dbt_project, prepare_manifest

PERSONAL = re.compile(
    r"^(customer_id|customer_ref|loyalty_id|email|phone|first_name|last_name|card_hash"
    r"|birth_date|social_handle|cookie_id|device_id|source_record_id|touchpoint_key)$"
)


def test_personal_columns_of_marts_are_marked_pii():
    prepare_manifest()  # parses unless the manifest is newer than every project file
    manifest = json.loads(dbt_project.manifest_path.read_text())
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
