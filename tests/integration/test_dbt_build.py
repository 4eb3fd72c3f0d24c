"""`dbt build` on a real DuckDB warehouse: it succeeds on empty raw tables, then on a
small hand-made set of raw rows it keeps the latest versions, normalises identifiers
and computes revenue as the landing contract defines it.

dbt runs twice for the whole module (each run costs seconds): once on the empty raw
schema (seeds, models, data tests and unit tests), once after the rows are inserted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from orchestration.lib.contract import SOURCES
from orchestration.lib.ingest import ensure_raw_schema
from orchestration.lib.phones import refresh_phone_lookup
from orchestration.lib.settings import REPO_ROOT, PhoneRegions

DBT_DIR = REPO_ROOT / "dbt_project"
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


def _row(file: str, line: int, **columns) -> dict:
    """A raw row with its lineage; the delivery date is the file's date folder."""
    return {
        **columns,
        "_file": file,
        "_line": line,
        "_delivery_date": file.split("/")[1],
        "_batch_id": "test",
        "_ingested_at": "2024-01-05 00:00:00",
    }


ORDER = {"storefront": "web", "gross_amount": "100.00", "discount_amount": "10.00"}
RAW_ROWS = {
    "crm_customers": [
        _row(
            "crm_customers/2024-01-01/crm.csv",
            2,
            customer_ref="C1",
            updated_at="2024-01-01 10:00:00",
            email="Ann@Example.com",
            phone="212-555-0101",
        ),
        _row(
            "crm_customers/2024-01-02/crm.csv",
            2,
            customer_ref="C1",
            updated_at="2024-01-02 08:00:00",
            email=" ANN.NEW@example.COM ",
            phone="(212) 555-0199",
        ),
        # the same version re-sent in a later file
        _row(
            "crm_customers/2024-01-03/crm.csv",
            2,
            customer_ref="C1",
            updated_at="2024-01-02 08:00:00",
            email=" ANN.NEW@example.COM ",
            phone="(212) 555-0199",
        ),
    ],
    "web_orders": [
        _row(
            "web_orders/2024-01-01/orders.csv",
            2,
            **ORDER,
            order_id="O1",
            order_ts="2024-01-01 23:30:00",
            updated_at="2024-01-01 23:30:00",
            status="placed",
            customer_ref="C1",
            net_amount="90.00",
        ),
        _row(
            "web_orders/2024-01-03/orders.csv",
            2,
            **ORDER,
            order_id="O1",
            order_ts="2024-01-01 23:30:00",
            updated_at="2024-01-03 10:00:00",
            status="delivered",
            customer_ref="C1",
            net_amount="90.00",
        ),
        _row(
            "web_orders/2024-01-02/orders.csv",
            2,
            **ORDER,
            order_id="O2",
            order_ts="2024-01-02 09:00:00",
            updated_at="2024-01-02 09:00:00",
            status="placed",
            currency="EUR",
            email="test@test.com",
            device_id="DEV-2",
            net_amount="50.00",
        ),
        _row(
            "web_orders/2024-01-02/orders.csv",
            3,
            **ORDER,
            order_id="O2",
            order_ts="2024-01-02 09:00:00",
            updated_at="2024-01-02 12:00:00",
            status="cancelled",
            currency="EUR",
            email="test@test.com",
            device_id="DEV-2",
            net_amount="50.00",
        ),
        _row(
            "web_orders/2024-01-02/orders.csv",
            4,
            **ORDER,
            order_id="O3",
            order_ts="2024-01-02 10:00:00",
            status="returned",
            email=" Bob@Example.com ",
            net_amount="40.00",
        ),
        _row(
            "web_orders/2024-01-02/orders.csv",
            5,
            **ORDER,
            order_id="O4",
            order_ts="2024-01-02 11:00:00",
            status="placed",
            currency="CHF",
            net_amount="25.00",
        ),
    ],
    "pos_transactions": [
        _row(
            "pos_transactions/2024-01-02/pos.csv",
            2,
            transaction_id="T1",
            store_id="S1",
            txn_ts="2024-01-02 15:00:00",
            txn_type="sale",
            loyalty_id="LY-1",
            currency="EUR",
            gross_amount="20.00",
            net_amount="20.00",
        ),
        # the sale re-sent, identical, in the next delivery
        _row(
            "pos_transactions/2024-01-03/pos.csv",
            7,
            transaction_id="T1",
            store_id="S1",
            txn_ts="2024-01-02 15:00:00",
            txn_type="sale",
            loyalty_id="LY-1",
            currency="EUR",
            gross_amount="20.00",
            net_amount="20.00",
        ),
        _row(
            "pos_transactions/2024-01-03/pos.csv",
            8,
            transaction_id="T2",
            store_id="S1",
            txn_ts="2024-01-03 09:00:00",
            txn_type="return",
            card_hash="H2",
            currency="EUR",
            gross_amount="-5.00",
            net_amount="-5.00",
            original_transaction_id="T1",
        ),
    ],
    "web_sessions": [
        _row(
            "web_sessions/2024-01-01/sessions.csv",
            2,
            session_id="W1",
            session_start="2024-01-01 23:00:00",
            cookie_id="CK-1",
            traffic_source="email",
            order_id="O1",
        ),
    ],
    "campaign_events": [
        _row(
            "campaign_events/2024-01-01/events.csv",
            2,
            event_id="E1",
            event_ts="2024-01-01 08:00:00",
            campaign_id="CP1",
            channel="email",
            email=" Ann.New@Example.com ",
            event_type="open",
        ),
    ],
    "marketing_spend": [
        _row(
            "marketing_spend/2024-01-01/spend.csv",
            2,
            spend_date="2024-01-01",
            channel="email",
            campaign_id="CP1",
            spend="12.50",
        ),
    ],
}


def customer_id(anchor: str) -> str:
    """The customer id identity resolution gives the cluster anchored at an identifier
    key (its earliest-seen strong identifier): 'C' and 16 hex digits of its sha256."""
    return "C" + hashlib.sha256(anchor.encode()).hexdigest()[:16]


# Ann's earliest strong identifier is the email of the campaign open (08:00 on Jan 1),
# seen before her CRM profile (10:00), which links it to C1 and her order O1.
ANN = customer_id("email:ann.new@example.com")


def _arrow(rows: list[dict]) -> pa.Table:
    """Rows as text columns (the union of their keys); DuckDB casts them on insert."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({name: pa.array([row.get(name) for row in rows]) for name in names})


def insert_raw(db_path: Path, batches: dict[str, list[dict]]) -> None:
    """Rows into raw tables, stamped with the time of this load as ingestion does (the
    incremental staging models read the rows loaded after the newest one they hold),
    then their phones into the lookup staging joins, as the lookup/phone_numbers asset
    does between ingestion and dbt (US numbering plan)."""
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    with duckdb.connect(str(db_path)) as con:
        for table, rows in batches.items():
            con.register("batch", _arrow(rows))
            con.execute(
                f"insert into raw.{table} by name "
                "select * replace (?::timestamp as _ingested_at) from batch",
                [loaded_at],
            )
            con.unregister("batch")
        refresh_phone_lookup(con, PhoneRegions())


def _dbt(*args: str, target: Path, succeeds: bool = True) -> None:
    """Run dbt in its own process, as Dagster does: dbt-duckdb keeps its DuckDB
    instance open in the calling process, which would lock the file for the checks.
    `succeeds=False`: the command must fail (a data test that finds bad rows)."""
    command = [
        str(DBT_EXECUTABLE),
        *args,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (done.returncode == 0) == succeeds, f"{' '.join(command)}:\n{done.stdout[-4000:]}"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Paths and row counts of a warehouse built empty, then rebuilt with RAW_ROWS."""
    root = tmp_path_factory.mktemp("dbt_warehouse")
    db_path = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_DIR", str(root))
        env.setenv("AS_OF_DATE", "2024-01-05")
        env.setenv("REPORTING_TZ", "UTC")
        with duckdb.connect(str(db_path)) as con:
            ensure_raw_schema(con)
        # Unit tests of an incremental model's increment (`input: this`) read the
        # model's columns from the warehouse: create those tables, empty, first.
        _dbt(
            "build",
            "--empty",
            "--resource-type",
            "seed",
            "--resource-type",
            "model",
            "--select",
            "+config.materialized:incremental",
            target=root / "target",
        )
        _dbt("build", target=root / "target")
        with duckdb.connect(str(db_path), read_only=True) as con:
            empty_counts = {
                table: con.execute(f"select count(*) from {table}").fetchone()[0]
                for table in ("marts.fct_orders", "marts.fct_touchpoints")
            }
        insert_raw(db_path, RAW_ROWS)
        _dbt("build", "--exclude", "test_type:unit", target=root / "target")
    return {"db": db_path, "target": root / "target", "empty_counts": empty_counts}


def _query(warehouse: dict, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse["db"]), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_build_succeeds_on_empty_raw_tables(warehouse):
    assert warehouse["empty_counts"] == {"marts.fct_orders": 0, "marts.fct_touchpoints": 0}


def test_models_land_in_plain_schemas(warehouse):
    tables = set(
        _query(warehouse, "select table_schema, table_name from information_schema.tables")
    )
    assert ("staging", "stg_crm__customers") in tables
    assert ("intermediate", "int_orders_unioned") in tables
    assert ("marts", "fct_orders") in tables
    assert ("reference", "currency_rates") in tables
    assert not {schema for schema, _ in tables if schema.startswith("main_")}


def test_every_contract_source_is_a_dbt_source(warehouse):
    manifest = json.loads((warehouse["target"] / "manifest.json").read_text())
    declared = {s["name"] for s in manifest["sources"].values() if s["source_name"] == "raw"}
    assert {s.name for s in SOURCES} | {"_files", "_rejects"} == declared


def test_latest_crm_version_with_normalised_identifiers(warehouse):
    rows = _query(
        warehouse,
        "select customer_ref, email, phone, _delivery_date from staging.stg_crm__customers",
    )
    assert rows == [("C1", "ann.new@example.com", "+12125550199", date(2024, 1, 3))]


def test_latest_order_versions(warehouse):
    rows = _query(warehouse, "select order_id, status from staging.stg_web__orders order by 1")
    assert rows == [("O1", "delivered"), ("O2", "cancelled"), ("O3", "returned"), ("O4", "placed")]


def test_orders_revenue_fx_and_customer_ids(warehouse):
    rows = _query(
        warehouse,
        """
        select order_id, channel, currency, revenue_amount, has_fx_rate, revenue_usd, order_date
        from marts.fct_orders order by order_id
        """,
    )
    d = Decimal
    assert rows == [
        # delivered: its net
        ("O1", "web", "USD", d("90.00"), True, d("90.00"), date(2024, 1, 1)),
        # cancelled: 0
        ("O2", "web", "EUR", d("0.00"), True, d("0.00"), date(2024, 1, 2)),
        ("O3", "web", "USD", d("0.00"), True, d("0.00"), date(2024, 1, 2)),
        # no CHF rate: kept and flagged, no USD revenue
        ("O4", "web", "CHF", d("25.00"), False, None, date(2024, 1, 2)),
        # EUR sale 20 x 1.08, return -5 x 1.08
        ("T1", "store", "EUR", d("20.00"), True, d("21.60"), date(2024, 1, 2)),
        ("T2", "store", "EUR", d("-5.00"), True, d("-5.40"), date(2024, 1, 3)),
    ]
    [(total,)] = _query(warehouse, "select sum(revenue_usd) from marts.fct_orders")
    assert total == d("106.20")  # 90 + (20 - 5) x 1.08
    assert dict(_query(warehouse, "select order_id, customer_id from marts.fct_orders")) == {
        "O1": ANN,  # through her CRM ref
        # the blocklisted email links nobody: the device alone is a customer
        "O2": customer_id("device:DEV-2"),
        "O3": customer_id("email:bob@example.com"),
        "O4": None,  # no identifier
        "T1": customer_id("loyalty:LY-1"),
        "T2": customer_id("card:H2"),
    }


def test_touchpoints_cover_customer_sources_but_not_spend(warehouse):
    rows = _query(
        warehouse,
        "select source, touchpoint_type, channel, customer_id from marts.fct_touchpoints",
    )
    expected = [
        ("campaign_events", "email_open", "email", ANN),
        ("crm_customers", "profile_update", "crm", ANN),
        ("pos_transactions", "pos_return", "store", customer_id("card:H2")),
        ("pos_transactions", "pos_sale", "store", customer_id("loyalty:LY-1")),
        ("web_orders", "order_placed", "web", None),
        ("web_orders", "order_placed", "web", ANN),
        ("web_orders", "order_placed", "web", customer_id("device:DEV-2")),
        ("web_orders", "order_placed", "web", customer_id("email:bob@example.com")),
        # the session carries only a cookie: a customer of its own
        ("web_sessions", "web_session", "web", customer_id("cookie:CK-1")),
    ]
    assert sorted(rows, key=str) == sorted(expected, key=str)


def test_every_model_column_is_documented(warehouse):
    """Each model and seed states its grain and documents exactly the columns it builds."""
    manifest = json.loads((warehouse["target"] / "manifest.json").read_text())
    built = {}
    for schema, table, column in _query(
        warehouse, "select table_schema, table_name, column_name from information_schema.columns"
    ):
        built.setdefault((schema, table), set()).add(column)
    models = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    names = {node["name"] for node in models}
    assert {"stg_web__orders", "customer_identifiers", "dim_customers", "fct_orders"} <= names
    for node in models:
        documented = {name for name, col in node["columns"].items() if col["description"]}
        assert "Grain - " in node["description"], f"{node['name']} does not state its grain"
        assert built[(node["schema"], node["name"])] == documented, node["name"]


def test_docs_site_describes_every_mart_and_column(warehouse, monkeypatch):
    """`dbt docs generate` writes a site whose catalog (the built tables) has a
    description for every mart and every one of its columns."""
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse["db"].parent))
    _dbt("docs", "generate", "--static", target=warehouse["target"])
    target = warehouse["target"]
    assert (target / "static_index.html").stat().st_size > 0
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    marts = {
        unique_id: entry
        for unique_id, entry in catalog["nodes"].items()
        if entry["metadata"]["schema"] == "marts"
    }
    assert len(marts) >= 20, sorted(entry["metadata"]["name"] for entry in marts.values())
    for unique_id, entry in marts.items():
        node = manifest["nodes"][unique_id]
        assert node["description"].strip(), f"{node['name']} has no description"
        undescribed = [
            column
            for column in entry["columns"]
            if not node["columns"].get(column, {}).get("description", "").strip()
        ]
        assert not undescribed, f"{node['name']}: columns without a description {undescribed}"


def test_column_rules_report_each_broken_rule_with_its_rows(warehouse, tmp_path, monkeypatch):
    """On a copy of the warehouse, two orders of stg_web__orders lose their order time, one
    gets a negative net amount and the other a storefront outside its values, and one
    customer_rfm row an r_score above 5: each model's column_rules test fails with the
    number of rows breaking a rule, stored as one row per broken rule with its column and
    row count."""
    shutil.copy(warehouse["db"], tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        first, second = (
            order_id
            for (order_id,) in con.execute(
                "select order_id from staging.stg_web__orders order by 1 limit 2"
            ).fetchall()
        )
        con.execute(
            "update staging.stg_web__orders set ordered_at = null where order_id in (?, ?)",
            [first, second],
        )
        con.execute(
            "update staging.stg_web__orders set net_amount = -5 where order_id = ?", [first]
        )
        con.execute(
            "update staging.stg_web__orders set storefront = 'kiosk' where order_id = ?",
            [second],
        )
        con.execute(
            "update marts.customer_rfm set r_score = 6 where customer_id = "
            "(select min(customer_id) from marts.customer_rfm where r_score is not null)"
        )
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path))
    target = tmp_path / "target"
    selection = ["stg_web__orders,test_name:column_rules", "customer_rfm,test_name:column_rules"]
    _dbt("test", "--select", *selection, "--store-failures", target=target, succeeds=False)
    results = json.loads((target / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert sorted((r["status"], r["failures"]) for r in tests) == [("fail", 1), ("fail", 4)]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        broken = [
            row
            for r in tests
            for row in con.execute(
                f"select column_name, rule, failing_rows from {r['relation_name']}"
            ).fetchall()
        ]
    assert sorted(broken) == [
        ("net_amount", "not_negative", 1),
        ("ordered_at", "not_null", 2),
        ("r_score", "accepted_range", 1),
        ("storefront", "accepted_values", 1),
    ]
