"""The unified customer marts on a real DuckDB warehouse, over two nightly runs.

Hand-made raw rows hold Ann (CRM profile, an email open, a logged-in web session, a
web order, a store sale, loyalty points, a survey and an open ticket), Bob (CRM
profile, an email click, a web order, an experiment assignment keyed by his email)
and a guest order under a placeholder email. The first night builds everything; the
second night delivers Bob's deleted CRM version (right to be forgotten). Expected
values are worked out by hand in the comments.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from orchestration.lib.ingest import ensure_raw_schema
from orchestration.lib.publish import KAnonymityError, marts_to_publish, publish_marts
from tests.integration.test_dbt_build import _dbt, _row, insert_raw

ANN = {
    "customer_ref": "C1",
    "first_name": "Ann",
    "last_name": "Lee",
    "email": " Ann@Example.com ",
    "phone": "212-555-0101",
    "loyalty_id": "LY-1",
    "birth_date": "1990-05-01",
    "gender": "F",
    "city": "Paris",
    "country": "fr",
    "signup_date": "2024-01-01",
}
BOB = {
    "customer_ref": "C2",
    "first_name": "Bob",
    "last_name": "Stone",
    "email": "bob.stone@example.com",
    "phone": "212-555-0122",
    "city": "Berlin",
    "country": "DE",
    "marketing_consent": "true",
}
WEB_ORDER = {"storefront": "web", "status": "delivered", "currency": "USD"}

FIRST_NIGHT = {
    "crm_customers": [
        _row(
            "crm_customers/2024-01-01/crm.csv",
            2,
            **ANN,
            updated_at="2024-01-01 09:00:00",
            marketing_consent="true",
        ),
        _row("crm_customers/2024-01-01/crm.csv", 3, **BOB, updated_at="2024-01-01 09:00:00"),
        # Ann withdraws her consent: the latest CRM value wins
        _row(
            "crm_customers/2024-01-03/crm.csv",
            2,
            **ANN,
            updated_at="2024-01-03 09:00:00",
            marketing_consent="false",
        ),
    ],
    "campaign_events": [
        # a send is the company's doing, not a customer action
        _row(
            "campaign_events/2024-01-01/events.csv",
            2,
            event_id="E0",
            campaign_id="CP1",
            event_ts="2024-01-01 09:30:00",
            channel="email",
            event_type="sent",
            email="ann@example.com",
        ),
        _row(
            "campaign_events/2024-01-01/events.csv",
            3,
            event_id="E1",
            campaign_id="CP1",
            event_ts="2024-01-01 10:00:00",
            channel="email",
            event_type="open",
            email="ann@example.com",
        ),
        _row(
            "campaign_events/2024-01-01/events.csv",
            4,
            event_id="E2",
            campaign_id="CP1",
            event_ts="2024-01-01 11:00:00",
            channel="email",
            event_type="click",
            email="bob.stone@example.com",
        ),
    ],
    "web_sessions": [
        _row(
            "web_sessions/2024-01-02/sessions.csv",
            2,
            session_id="W1",
            session_start="2024-01-02 10:00:00",
            cookie_id="CK-1",
            customer_ref="C1",
            order_id="O1",
        ),
    ],
    "web_orders": [
        _row(
            "web_orders/2024-01-02/orders.csv",
            2,
            **WEB_ORDER,
            order_id="O1",
            order_ts="2024-01-02 10:30:00",
            email="ann@example.com",
            cookie_id="CK-1",
            gross_amount="100.00",
            net_amount="100.00",
        ),
        _row(
            "web_orders/2024-01-02/orders.csv",
            3,
            **WEB_ORDER,
            order_id="O2",
            order_ts="2024-01-02 12:00:00",
            email="bob.stone@example.com",
            gross_amount="60.00",
            net_amount="60.00",
        ),
        # a guest under a placeholder email: no customer, but its revenue counts
        _row(
            "web_orders/2024-01-03/orders.csv",
            2,
            **WEB_ORDER,
            order_id="O3",
            order_ts="2024-01-03 12:00:00",
            email="test@test.com",
            gross_amount="25.00",
            net_amount="25.00",
        ),
    ],
    "pos_transactions": [
        _row(
            "pos_transactions/2024-01-04/pos.csv",
            2,
            transaction_id="T1",
            store_id="S1",
            txn_ts="2024-01-04 15:00:00",
            txn_type="sale",
            loyalty_id="LY-1",
            gross_amount="40.00",
            net_amount="40.00",
        ),
    ],
    "loyalty_ledger": [
        _row(
            "loyalty_ledger/2024-01-02/ledger.csv",
            2,
            entry_id="L1",
            entry_ts="2024-01-02 10:31:00",
            loyalty_id="LY-1",
            entry_type="earn",
            points="100",
        ),
        _row(
            "loyalty_ledger/2024-01-05/ledger.csv",
            2,
            entry_id="L2",
            entry_ts="2024-01-05 09:00:00",
            loyalty_id="LY-1",
            entry_type="redeem",
            points="-30",
        ),
    ],
    "survey_responses": [
        _row(
            "survey_responses/2024-01-05/survey.csv",
            2,
            response_id="R1",
            response_ts="2024-01-05 10:00:00",
            survey_type="nps",
            score="9",
            customer_ref="C1",
        ),
    ],
    "service_tickets": [
        _row(
            "service_tickets/2024-01-05/tickets.csv",
            2,
            ticket_id="K1",
            opened_ts="2024-01-05 11:00:00",
            contact_channel="chat",
            category="inquiry",
            status="open",
            email="ann@example.com",
        ),
    ],
    "experiment_assignments": [
        _row(
            "experiment_assignments/2024-01-02/assign.csv",
            2,
            experiment_id="X1",
            variant="treat",
            assigned_ts="2024-01-02 08:00:00",
            email="bob.stone@example.com",
        ),
    ],
}
# Bob's deletion, as the CRM sends it: personal fields emptied, is_deleted set
SECOND_NIGHT = {
    "crm_customers": [
        _row(
            "crm_customers/2024-01-06/crm.csv",
            2,
            customer_ref="C2",
            updated_at="2024-01-06 08:00:00",
            is_deleted="true",
        ),
    ],
}
REVENUE_USD = Decimal("225.00")  # 100 (O1) + 60 (O2) + 25 (O3) + 40 (T1)


def _snapshot(db_path) -> dict:
    """What the tests compare across the two nights."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {
            "revenue_usd": con.execute("select sum(revenue_usd) from marts.fct_orders").fetchone()[
                0
            ],
            "order_count": con.execute("select count(*) from marts.fct_orders").fetchone()[0],
            "emails": {
                row[0] for row in con.execute("select email from marts.dim_customers").fetchall()
            },
        }


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("customer_marts")
    db_path = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_DIR", str(root))
        env.setenv("AS_OF_DATE", "2024-01-06")
        env.setenv("REPORTING_TZ", "UTC")
        with duckdb.connect(str(db_path)) as con:
            ensure_raw_schema(con)
        insert_raw(db_path, FIRST_NIGHT)
        _dbt("build", "--exclude", "test_type:unit", target=root / "target")
        first = _snapshot(db_path)
        insert_raw(db_path, SECOND_NIGHT)
        _dbt("build", "--exclude", "test_type:unit", target=root / "target")
    return {"db": db_path, "root": root, "first": first, "second": _snapshot(db_path)}


def _query(nights: dict, sql: str) -> list[tuple]:
    with duckdb.connect(str(nights["db"]), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_golden_record_and_aggregates(nights):
    with duckdb.connect(str(nights["db"]), read_only=True) as con:
        cursor = con.execute("select * exclude (customer_id) from marts.dim_customers")
        rows = cursor.fetchall()
        names = [column[0] for column in cursor.description]
    assert len(rows) == 1  # Bob is forgotten, the guest is nobody
    assert dict(zip(names, rows[0], strict=True)) == {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "phone": "+12125550101",
        # one customer, fewer than k_anonymity: every quasi-identifier generalised
        "city": "other",
        "country_code": "other",
        "age_band": "unknown",
        "gender": "unknown",
        "generalisation_level": 4,
        "signup_date": date(2024, 1, 1),
        "has_marketing_consent": False,  # withdrawn in the later CRM version
        "first_seen_at": datetime(2024, 1, 1, 9, 30),  # the send E0 to her email
        "last_seen_at": datetime(2024, 1, 5, 11, 0),  # the ticket K1
        "first_purchase_at": datetime(2024, 1, 2, 10, 30),
        "last_purchase_at": datetime(2024, 1, 4, 15, 0),
        "first_purchase_order_key": "web_orders:O1",
        "first_purchase_channel": "web",
        "first_touch_channel": "email",  # her first action: the open of E1
        # actions only: the send E0, the CRM profile and the points postings are none
        "channels_used": "email, service, store, survey, web",
        "preferred_channel": "web",  # 2 actions (W1, O1); every other channel 1
        "channel_profile": "omnichannel",  # bought on the web (O1) and in a store (T1)
        "online_to_store_purchases": 1,  # T1 came 2 days after her web order O1
        # E0, E1, C1, W1, O1, T1, L1, L2, R1, K1
        "touchpoint_count": 10,
        "lifetime_orders": 2,
        "lifetime_revenue_usd": Decimal("140.00"),  # 100 + 40
        "loyalty_id": "LY-1",
        "loyalty_points_balance": 70,  # 100 - 30
        "latest_nps_score": 9,
        "latest_csat_score": None,
        "open_ticket_count": 1,
        # dbt alone runs no model assets: the prediction columns stay empty
        "clv_365d": None,
        "p_alive": None,
        "churn_probability": None,
        "risk_tier": None,
    }
    # what the records say, before the generalisation
    profile = _query(
        nights,
        "select city, country_code, birth_date, gender from intermediate.int_customers_aggregated",
    )
    assert profile == [("Paris", "FR", date(1990, 5, 1), "f")]


def test_journey_and_conversion_path(nights):
    rows = _query(
        nights,
        """
        select touchpoint_sequence, channel, channel_switch, is_before_first_purchase,
            is_first_purchase
        from marts.fct_customer_journeys order by touchpoint_sequence
        """,
    )
    assert rows == [
        (1, "email", None, True, False),  # E1 open, 01-01 10:00
        (2, "web", "email → web", True, False),  # W1 session, 01-02 10:00
        (3, "web", None, False, True),  # O1, 01-02 10:30
        (4, "store", "web → store", False, False),  # T1, 01-04 15:00
        (5, "survey", "store → survey", False, False),  # R1, 01-05 10:00
        (6, "service", "survey → service", False, False),  # K1, 01-05 11:00
    ]
    paths = _query(
        nights,
        "select conversion_path, conversion_channel, customer_count, customer_share "
        "from marts.rpt_cross_channel_paths",
    )
    assert paths == [("email > web", "web", 1, Decimal("1.0000"))]


def test_first_night_still_knows_bob(nights):
    assert nights["first"]["emails"] == {"ann@example.com", "bob.stone@example.com"}


def test_forgotten_person_appears_in_no_mart(nights):
    assert nights["second"]["emails"] == {"ann@example.com"}
    text_columns = _query(
        nights,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and data_type = 'VARCHAR'",
    )
    assert text_columns
    for table, column in text_columns:
        hits = _query(
            nights,
            f"""
            select "{column}" from marts."{table}"
            where lower("{column}") similar to '.*(bob|stone).*'
                or regexp_matches("{column}", '(^|[^0-9A-Za-z])C2($|[^0-9A-Za-z])')
            """,
        )
        assert hits == [], f"marts.{table}.{column} still names the forgotten person: {hits}"


def test_forgotten_person_leaves_the_identity_map_and_their_touchpoints_stay_anonymous(nights):
    values = [
        v for (v,) in _query(nights, "select identifier_value from identity.customer_identifiers")
    ]
    assert any("ann@example.com" in v for v in values)  # Ann's identifiers are all there
    bobs = re.compile(r"bob|stone|(^|[^0-9a-z])c2($|[^0-9a-z])|020.?2222")
    assert [v for v in values if bobs.search(v.lower())] == []
    # Bob's click, order, CRM profile and experiment assignment stay, with no customer; the
    # keys of the last two are his own identifiers, so they are replaced.
    rows = _query(
        nights,
        "select touchpoint_key, customer_id from marts.fct_touchpoints "
        "where touchpoint_key in ('campaign_events:E2', 'web_orders:O2') "
        "or touchpoint_key like '%:forgotten-%' order by 1",
    )
    assert rows == [
        ("campaign_events:E2", None),
        ("crm_customers:forgotten-1", None),
        ("experiment_assignments:forgotten-1", None),
        ("web_orders:O2", None),
    ]


def test_revenue_totals_do_not_move(nights):
    assert nights["first"]["revenue_usd"] == nights["second"]["revenue_usd"] == REVENUE_USD
    assert nights["first"]["order_count"] == nights["second"]["order_count"] == 4
    rows = _query(
        nights,
        "select order_id, customer_id is null, revenue_usd from marts.fct_orders order by 1",
    )
    assert [(order_id, anonymous) for order_id, anonymous, _ in rows] == [
        ("O1", False),
        ("O2", True),  # Bob's, kept without a customer
        ("O3", True),  # the guest's placeholder email identifies nobody
        ("T1", False),
    ]


def test_published_file_masks_personal_data(nights, tmp_path):
    """The publish step takes the marts with their pii columns from the dbt manifest
    and refuses a file holding an e-mail address: the marts must pass."""
    manifest = json.loads((nights["root"] / "target" / "manifest.json").read_text())
    tables = marts_to_publish(manifest)
    assert {"dim_customers", "fct_customer_journeys", "rpt_cross_channel_paths"} <= set(tables)
    # one customer is a group of one, whatever the generalisation: refused at k = 10
    with pytest.raises(KAnonymityError, match=r"dim_customers: 1 group\(s\) .* country_code"):
        publish_marts(nights["db"], tmp_path, tables, key="test-key")
    publish_marts(nights["db"], tmp_path, tables, key="test-key", k_anonymity=1)
    with duckdb.connect(str(tmp_path / "marts.duckdb"), read_only=True) as con:
        [(email, customer_id)] = con.execute(
            "select email, customer_id from dim_customers"
        ).fetchall()
        [(order_customer_id,)] = con.execute(
            "select customer_id from fct_orders where order_id = 'O1'"
        ).fetchall()
    assert email != "ann@example.com" and len(email) == 64
    assert customer_id == order_customer_id  # the same keyed hash: joins still work
