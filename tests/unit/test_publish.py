import hashlib

import duckdb
import pytest

from orchestration.lib.publish import PiiLeakError, hash_key, publish_marts

KEY = "test-key"


def make_warehouse(path, orders: int):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_orders as "
            "select range as id, 'crm:C' || range as customer_id from range(?)",
            [orders],
        )
        con.execute("create table marts.internal_only as select 1 as secret")


def read(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_publish_copies_only_allow_listed_tables_and_hashes_pii(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, 3)
    result = publish_marts(warehouse, tmp_path / "publish", {"fct_orders": ["customer_id"]}, KEY)
    assert result.tables == {"fct_orders": 3}
    assert result.previous is None
    assert read(result.path, "select table_name from information_schema.tables") == [
        ("fct_orders",)
    ]
    expected = [(i, hashlib.sha256(f"{KEY}crm:C{i}".encode()).hexdigest()) for i in range(3)]
    assert read(result.path, "select id, customer_id from fct_orders order by id") == expected
    assert sorted(p.name for p in (tmp_path / "publish").iterdir()) == ["marts.duckdb"]


def test_open_reader_keeps_its_version_and_previous_is_kept(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    publish_marts(warehouse, publish_dir, {"fct_orders": []}, KEY)
    reader = duckdb.connect(str(publish_dir / "marts.duckdb"), read_only=True)
    warehouse.unlink()
    make_warehouse(warehouse, 5)
    result = publish_marts(warehouse, publish_dir, {"fct_orders": []}, KEY)
    # The reader opened before the swap still sees the complete old version...
    assert reader.execute("select count(*) from fct_orders").fetchone() == (3,)
    reader.close()
    # ...new readers see the new one, and the old one is kept for rollback.
    assert read(result.path, "select count(*) from fct_orders") == [(5,)]
    assert read(result.previous, "select count(*) from fct_orders") == [(3,)]


@pytest.mark.parametrize(
    ("tables", "error", "message"),
    [
        ({"fct_orders": [], "no_such_mart": []}, ValueError, "marts.no_such_mart is not in"),
        ({"fct_orders": ["e_mail"]}, ValueError, r"no column \['e_mail'\] marked pii"),
    ],
)
def test_failed_publish_leaves_the_published_file_alone(tmp_path, tables, error, message):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    publish_marts(warehouse, publish_dir, {"fct_orders": []}, KEY)
    with pytest.raises(error, match=message):
        publish_marts(warehouse, publish_dir, tables, KEY)
    assert read(publish_dir / "marts.duckdb", "select count(*) from fct_orders") == [(3,)]
    assert sorted(p.name for p in publish_dir.iterdir()) == ["marts.duckdb"]


def test_an_email_address_blocks_publishing(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_touchpoints as select * from (values "
            "('web', 'email:Ann.Lee@example.co.uk'), ('store', null)) as t(channel, customer_id)"
        )
    with pytest.raises(PiiLeakError, match=r"fct_touchpoints.customer_id \(1 rows\)"):
        publish_marts(warehouse, tmp_path / "publish", {"fct_touchpoints": []}, KEY)
    assert not (tmp_path / "publish" / "marts.duckdb").exists()
    result = publish_marts(
        warehouse, tmp_path / "publish", {"fct_touchpoints": ["customer_id"]}, KEY
    )
    assert read(result.path, "select count(customer_id) from fct_touchpoints") == [(1,)]


def test_hash_key_comes_from_the_environment_or_a_kept_file(tmp_path, monkeypatch):
    monkeypatch.delenv("PUBLISH_HASH_KEY", raising=False)
    first = hash_key(tmp_path)
    assert len(first) == 64 and hash_key(tmp_path) == first
    assert (tmp_path / ".publish_hash_key").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("PUBLISH_HASH_KEY", "from-env")
    assert hash_key(tmp_path) == "from-env"
