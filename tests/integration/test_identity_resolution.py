"""Identity resolution in dbt on a real DuckDB warehouse, over nightly runs.

Hand-made raw rows hold two people A and B who share a family tablet, a placeholder
email and a store phone (none of which may merge them), and a 5,000-identifier chain
(crm:K00000 - email:k00000 - crm:K00001 - ...) that must resolve to one customer.
dbt runs four times for the module: the first night, the same data again, a night
whose survey response bridges A and B, and a full rebuild.
"""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from orchestration.lib.ingest import ensure_raw_schema
from tests.integration.test_dbt_build import _dbt, _row, insert_raw

CHAIN_LINKS = 2_500  # crm refs; with their emails the chain has 5,000 identifiers
SELECT = [
    "--select",
    "+int_source_records_resolved",
    "+customer_identifiers",
    "+customer_merges",
    "+excluded_identifiers",
    "--exclude",
    "test_type:unit",
    "--indirect-selection",
    "cautious",
]


def customer_id(anchor: str) -> str:
    """The id the project promises: 'C' and 16 hex digits of sha256(anchor)."""
    return "C" + hashlib.sha256(anchor.encode()).hexdigest()[:16]


def _order(file: str, line: int, order_id: str, ts: str, **identifiers) -> dict:
    return _row(
        file,
        line,
        order_id=order_id,
        order_ts=ts,
        updated_at=ts,
        storefront="web",
        status="placed",
        gross_amount="10.00",
        net_amount="10.00",
        **identifiers,
    )


def _app_event(line: int, event_id: str, **identifiers) -> dict:
    return _row(
        "app_events/2024-01-03/app.csv",
        line,
        event_id=event_id,
        event_ts="2024-01-03 10:00:00",
        event_type="app_open",
        **identifiers,
    )


def _pos(line: int, transaction_id: str, **identifiers) -> dict:
    return _row(
        "pos_transactions/2024-01-03/pos.csv",
        line,
        transaction_id=transaction_id,
        store_id="S000",
        txn_ts="2024-01-03 12:00:00",
        txn_type="sale",
        gross_amount="5.00",
        net_amount="5.00",
        **identifiers,
    )


def _chain_orders() -> list[dict]:
    """crm:K<i> with email k<i> on one order, email k<i> with crm:K<i+1> on the next:
    a path whose smallest key sits at one end, the worst case for label propagation."""
    rows = []
    for i in range(CHAIN_LINKS):
        ts = f"2023-01-01 00:00:{i % 60:02d}" if i == 0 else "2023-06-01 00:00:00"
        rows.append(
            _order(
                "web_orders/2024-01-01/chain.csv",
                2 * i + 2,
                f"K{i:05d}a",
                ts,
                customer_ref=f"K{i:05d}",
                email=f"k{i:05d}@chain.test",
            )
        )
        if i + 1 < CHAIN_LINKS:
            rows.append(
                _order(
                    "web_orders/2024-01-01/chain.csv",
                    2 * i + 3,
                    f"K{i:05d}b",
                    ts,
                    customer_ref=f"K{i + 1:05d}",
                    email=f"k{i:05d}@chain.test",
                )
            )
    return rows


FIRST_NIGHT = {
    "web_orders": [
        _order(
            "web_orders/2024-01-01/o.csv",
            2,
            "OA1",
            "2024-01-01 09:00:00",
            customer_ref="CA",
            email="a@x.test",
        ),
        _order(
            "web_orders/2024-01-02/o.csv",
            2,
            "OB1",
            "2024-01-02 09:00:00",
            customer_ref="CB",
            email="b@x.test",
        ),
        # the same placeholder email typed by both
        _order(
            "web_orders/2024-01-02/o.csv",
            3,
            "OA2",
            "2024-01-02 10:00:00",
            customer_ref="CA",
            email="Test@Test.com",
        ),
        _order(
            "web_orders/2024-01-02/o.csv",
            4,
            "OB2",
            "2024-01-02 11:00:00",
            customer_ref="CB",
            email="test@test.com",
        ),
        *_chain_orders(),
    ],
    "app_events": [
        # one family tablet, both logged in on it at times, once logged out
        _app_event(2, "EA", device_id="TABLET", customer_ref="CA"),
        _app_event(3, "EB", device_id="TABLET", customer_ref="CB"),
        _app_event(4, "EX", device_id="TABLET"),
        # A's own phone
        _app_event(5, "EA2", device_id="PHONE-A", customer_ref="CA"),
        _app_event(6, "EA3", device_id="PHONE-A"),
    ],
    "pos_transactions": [
        # the store's own number typed for both (blocklisted), and a till with no identifier
        _pos(2, "TA", loyalty_id="LA", phone="800-555-1000"),
        _pos(3, "TB", loyalty_id="LB", phone="(800) 555 1000"),
        _pos(4, "TN"),
    ],
    "crm_customers": [
        _row(
            "crm_customers/2024-01-01/crm.csv",
            2,
            customer_ref="CA",
            updated_at="2024-01-01 08:00:00",
            loyalty_id="LA",
        ),
        _row(
            "crm_customers/2024-01-02/crm.csv",
            2,
            customer_ref="CB",
            updated_at="2024-01-02 08:00:00",
            loyalty_id="LB",
        ),
    ],
}
BRIDGE_NIGHT = {
    "survey_responses": [
        _row(
            "survey_responses/2024-01-04/s.csv",
            2,
            response_id="SR1",
            response_ts="2024-01-04 10:00:00",
            survey_type="nps",
            score="9",
            customer_ref="CB",
            email="A@X.test",
        ),
    ],
}
# SR1 re-sent without the email (a later delivery, ingested later): the bridge is gone.
CORRECTION_NIGHT = {
    "survey_responses": [
        {
            **_row(
                "survey_responses/2024-01-06/s.csv",
                2,
                response_id="SR1",
                response_ts="2024-01-04 10:00:00",
                survey_type="nps",
                score="9",
                customer_ref="CB",
            ),
            "_ingested_at": "2024-01-06 00:00:00",
        },
    ],
}
ID_A, ID_B = customer_id("crm:CA"), customer_id("crm:CB")


def _snapshot(db) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        records = dict(
            con.execute(
                "select source_record_id, coalesce(customer_id, unresolved_reason) "
                "from intermediate.int_source_records_resolved"
            ).fetchall()
        )
        merges = con.execute(
            "select change_type, old_customer_id, new_customer_id, as_of_date, run_id "
            "from identity.customer_merges order by logged_at, old_customer_id"
        ).fetchall()
        excluded = set(
            con.execute(
                "select identifier_type || ':' || identifier_value, reason "
                "from identity.excluded_identifiers"
            ).fetchall()
        )
        identifiers = dict(
            con.execute(
                "select identifier_type || ':' || identifier_value, customer_id "
                "from identity.customer_identifiers"
            ).fetchall()
        )
        dropped = set(
            con.execute(
                "select record_key, identifier_key "
                "from intermediate.int_identity__record_identifier_states where not is_current"
            ).fetchall()
        )
    return {
        "records": records,
        "merges": merges,
        "excluded": excluded,
        "ids": identifiers,
        "dropped": dropped,
    }


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    root = tmp_path_factory.mktemp("identity_warehouse")
    db = root / "warehouse.duckdb"
    snapshots = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_DIR", str(root))
        env.setenv("REPORTING_TZ", "UTC")
        with duckdb.connect(str(db)) as con:
            ensure_raw_schema(con)
        insert_raw(db, FIRST_NIGHT)
        for as_of, night, extra in (
            ("2024-01-03", None, []),
            ("2024-01-04", None, []),
            ("2024-01-05", BRIDGE_NIGHT, []),
            ("2024-01-06", CORRECTION_NIGHT, []),
            ("2024-01-07", None, ["--full-refresh"]),
        ):
            env.setenv("AS_OF_DATE", as_of)
            if night:
                insert_raw(db, night)
            _dbt("build", *SELECT, *extra, target=root / "target")
            snapshots.append(_snapshot(db))
    return snapshots


def test_long_chain_resolves_to_one_customer(nights):
    records = nights[0]["records"]
    chain = {rid: cid for rid, cid in records.items() if rid.startswith("K")}
    assert len(chain) == 2 * CHAIN_LINKS - 1
    # the anchor is the earliest-seen identifier; crm beats its email at the same time
    assert set(chain.values()) == {customer_id("crm:K00000")}


def test_shared_device_placeholder_and_store_phone_do_not_merge(nights):
    first = nights[0]
    records = first["records"]
    assert records["OA1"] == records["OA2"] == records["EA"] == records["TA"] == ID_A
    assert records["OB1"] == records["OB2"] == records["EB"] == records["TB"] == ID_B
    # A's own device attaches to A, also on an event where A is logged out
    assert records["EA3"] == ID_A
    # logged out on the shared tablet: nobody; a till with no identifier: nobody
    assert records["EX"] == "only_excluded_identifiers"
    assert records["TN"] == "no_identifier"
    assert {
        ("device:TABLET", "links_several_customers"),
        ("email:test@test.com", "blocklist"),
        ("phone:+18005551000", "blocklist"),
    } <= first["excluded"]
    assert "device:TABLET" not in first["ids"]
    assert first["ids"]["device:PHONE-A"] == ID_A


def test_ids_are_stable_on_a_rerun(nights):
    first, second = nights[0], nights[1]
    assert second["records"] == first["records"]
    assert second["ids"] == first["ids"]
    assert second["merges"] == []


def test_bridge_merges_into_the_older_anchor_and_is_logged(nights):
    bridged = nights[2]
    records = bridged["records"]
    for rid in ("OA1", "OB1", "EA", "EB", "TA", "TB", "SR1"):
        assert records[rid] == ID_A, rid
    # the tablet now sees one customer: it attaches, and so does the logged-out event
    assert records["EX"] == ID_A
    [(change, old, new, as_of, run_id)] = bridged["merges"]
    assert (change, old, new, str(as_of)) == ("merge", ID_B, ID_A, "2024-01-05")
    assert run_id


def test_a_correction_that_drops_the_bridge_splits_them_again(nights):
    bridged, corrected = nights[2], nights[3]
    records = corrected["records"]
    for rid in ("OA1", "OA2", "EA", "TA"):
        assert records[rid] == ID_A, rid
    for rid in ("OB1", "OB2", "EB", "TB", "SR1"):
        assert records[rid] == ID_B, rid
    # the tablet sees two customers again
    assert records["EX"] == "only_excluded_identifiers"
    assert corrected["ids"] == nights[1]["ids"]
    # the increment kept the identifier SR1 no longer carries, to recompute it
    assert ("survey_responses:SR1", "email:a@x.test") in corrected["dropped"]
    assert bridged["dropped"] == set()
    # A's identifiers now span A and B: the ones that moved to B are logged as a split
    assert [(c, o, n, str(d)) for c, o, n, d, _ in corrected["merges"]] == [
        ("merge", ID_B, ID_A, "2024-01-05"),
        ("split", ID_A, ID_B, "2024-01-06"),
    ]


def test_full_rebuild_keeps_ids_and_the_merge_log(nights):
    corrected, rebuilt = nights[3], nights[4]
    assert rebuilt["records"] == corrected["records"]
    assert rebuilt["ids"] == corrected["ids"]
    assert rebuilt["merges"] == corrected["merges"]
    assert rebuilt["dropped"] == set()
