"""What the Python side does around dbt on Spark (orchestration/lib/engines.py), on a
hand-made warehouse file and hand-made Spark table directories."""

from __future__ import annotations

import duckdb

from orchestration.lib.engines import expose_spark_tables, has_ml_tables


def _spark_table(tables_dir, schema, table, rows_sql):
    directory = tables_dir / f"{schema}.db" / table
    directory.mkdir(parents=True)
    duckdb.execute(f"copy ({rows_sql}) to '{directory / 'part-00000.snappy.parquet'}'")
    (directory / "_SUCCESS").touch()


def _node(resource_type, schema, alias):
    return {"resource_type": resource_type, "schema": schema, "alias": alias}


def test_each_table_spark_built_becomes_a_view_of_its_files_in_the_warehouse(tmp_path):
    tables = tmp_path / "tables"
    _spark_table(
        tables, "marts", "fct_orders", "select 'O1' as order_id, 10.50::decimal(18, 2) as amount"
    )
    _spark_table(tables, "reference", "loyalty_tiers", "select 'gold' as tier")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    # a table the same model left when it was built on DuckDB gives way to the view
    con.execute("create schema marts")
    con.execute("create table marts.fct_orders as select 'stale' as order_id, 1.0 as amount")
    nodes = [
        _node("model", "marts", "fct_orders"),
        _node("seed", "reference", "loyalty_tiers"),
        _node("model", "marts", "dim_customers"),  # not built on Spark yet
        _node("test", "marts", "not_null_fct_orders_order_id"),
    ]
    assert expose_spark_tables(con, nodes, tables) == [
        "marts.fct_orders",
        "reference.loyalty_tiers",
    ]
    assert con.execute("select * from marts.fct_orders").fetchall() == [("O1", 10.50)]
    assert con.execute(
        "select table_name, table_type from information_schema.tables order by 1"
    ).fetchall() == [("fct_orders", "VIEW"), ("loyalty_tiers", "VIEW")]
    # Spark writes the table again: the view reads the new files, and a second call is a no-op
    (tables / "marts.db" / "fct_orders" / "part-00000.snappy.parquet").unlink()
    duckdb.execute(
        "copy (select 'O2' as order_id, 3.00::decimal(18, 2) as amount) to "
        f"'{tables / 'marts.db' / 'fct_orders' / 'part-00001.snappy.parquet'}'"
    )
    assert expose_spark_tables(con, nodes, tables) == [
        "marts.fct_orders",
        "reference.loyalty_tiers",
    ]
    assert con.execute("select order_id from marts.fct_orders").fetchall() == [("O2",)]


def test_ml_tables_are_found_by_schema(tmp_path):
    con = duckdb.connect()
    assert not has_ml_tables(con)
    con.execute("create schema ml")
    con.execute("create table ml.customer_clv (customer_id varchar)")
    assert has_ml_tables(con)
