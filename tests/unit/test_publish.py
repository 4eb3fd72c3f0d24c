import duckdb
import pytest

from orchestration.lib.publish import publish_marts


def make_warehouse(path, orders: int):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.fct_orders as select range as id from range({orders})")
        con.execute("create table marts.internal_only as select 1 as secret")


def test_publish_copies_only_allow_listed_tables(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, 3)
    result = publish_marts(warehouse, tmp_path / "publish", ["fct_orders"])
    assert result.tables == {"fct_orders": 3}
    assert result.previous is None
    with duckdb.connect(str(result.path), read_only=True) as con:
        tables = con.execute("select table_name from information_schema.tables").fetchall()
        assert tables == [("fct_orders",)]
    assert sorted(p.name for p in (tmp_path / "publish").iterdir()) == ["marts.duckdb"]


def test_open_reader_keeps_its_version_and_previous_is_kept(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    publish_marts(warehouse, publish_dir, ["fct_orders"])
    reader = duckdb.connect(str(publish_dir / "marts.duckdb"), read_only=True)
    warehouse.unlink()
    make_warehouse(warehouse, 5)
    result = publish_marts(warehouse, publish_dir, ["fct_orders"])
    # The reader opened before the swap still sees the complete old version...
    assert reader.execute("select count(*) from fct_orders").fetchone() == (3,)
    reader.close()
    # ...new readers see the new one, and the old one is kept for rollback.
    with duckdb.connect(str(result.path), read_only=True) as con:
        assert con.execute("select count(*) from fct_orders").fetchone() == (5,)
    with duckdb.connect(str(result.previous), read_only=True) as con:
        assert con.execute("select count(*) from fct_orders").fetchone() == (3,)


def test_failed_publish_leaves_the_published_file_alone(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    publish_marts(warehouse, publish_dir, ["fct_orders"])
    with pytest.raises(duckdb.CatalogException, match="no_such_mart"):
        publish_marts(warehouse, publish_dir, ["fct_orders", "no_such_mart"])
    with duckdb.connect(str(publish_dir / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from fct_orders").fetchone() == (3,)
    assert sorted(p.name for p in publish_dir.iterdir()) == ["marts.duckdb"]
