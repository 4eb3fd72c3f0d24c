"""The Parquet copies of the tables Python writes, read by dbt on Spark
(orchestration/lib/parquet_mirror.py), on a hand-made DuckDB warehouse."""

from __future__ import annotations

import duckdb

from orchestration.lib.parquet_mirror import mirror_batches, mirror_whole


def _raw(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema raw")
    con.execute(
        "create table raw.web_orders (order_id varchar, net_amount decimal(18, 2),"
        " _delivery_date date, _batch_id varchar)"
    )


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


def test_a_source_is_one_file_per_batch_in_its_delivery_day_and_a_sync_writes_only_new_ones(
    tmp_path,
):
    con = duckdb.connect()
    _raw(con)
    con.execute(
        "insert into raw.web_orders values"
        " ('O1', 10.50, '2026-05-01', 'run1'), ('O2', 3.00, '2026-05-01', 'run1'),"
        " ('O3', 7.25, '2026-05-02', 'run1')"
    )
    mirror_batches(con, tmp_path, "raw", "web_orders")
    assert _files(tmp_path) == [
        "raw/web_orders/_delivery_date=2026-05-01/batch_run1.parquet",
        "raw/web_orders/_delivery_date=2026-05-02/batch_run1.parquet",
    ]
    first = (tmp_path / "raw/web_orders/_delivery_date=2026-05-01/batch_run1.parquet").stat()

    con.execute("insert into raw.web_orders values ('O4', 1.00, '2026-05-03', 'run2')")
    mirror_batches(con, tmp_path, "raw", "web_orders")
    assert len(_files(tmp_path)) == 3
    again = (tmp_path / "raw/web_orders/_delivery_date=2026-05-01/batch_run1.parquet").stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)

    # read back as a reader of the partitioned layout does: the rows, the day from the path
    rows = con.execute(
        f"select order_id, net_amount, _delivery_date::varchar from read_parquet("
        f"'{tmp_path}/raw/web_orders/*/*.parquet', hive_partitioning = true) order by 1"
    ).fetchall()
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [
        ("O1", "10.50", "2026-05-01"),
        ("O2", "3.00", "2026-05-01"),
        ("O3", "7.25", "2026-05-02"),
        ("O4", "1.00", "2026-05-03"),
    ]


def test_a_reloaded_day_loses_the_files_of_the_batches_raw_no_longer_holds(tmp_path):
    con = duckdb.connect()
    _raw(con)
    con.execute(
        "insert into raw.web_orders values ('O1', 1, '2026-05-01', 'run1'),"
        " ('O2', 2, '2026-05-02', 'run1')"
    )
    mirror_batches(con, tmp_path, "raw", "web_orders")
    con.execute("delete from raw.web_orders where _delivery_date = '2026-05-02'")
    con.execute("insert into raw.web_orders values ('O2', 2, '2026-05-02', 'reload')")
    mirror_batches(con, tmp_path, "raw", "web_orders")
    assert _files(tmp_path) == [
        "raw/web_orders/_delivery_date=2026-05-01/batch_run1.parquet",
        "raw/web_orders/_delivery_date=2026-05-02/batch_reload.parquet",
    ]
    con.execute("delete from raw.web_orders where _delivery_date = '2026-05-01'")
    mirror_batches(con, tmp_path, "raw", "web_orders")
    assert not (tmp_path / "raw/web_orders/_delivery_date=2026-05-01").exists()


def test_a_source_without_batches_is_one_empty_file_with_its_columns_until_one_comes(tmp_path):
    con = duckdb.connect()
    _raw(con)
    mirror_batches(con, tmp_path, "raw", "web_orders")
    assert _files(tmp_path) == ["raw/web_orders/empty.parquet"]
    columns = con.execute(
        f"select column_name from (describe select * from "
        f"'{tmp_path}/raw/web_orders/empty.parquet')"
    ).fetchall()
    assert [c for (c,) in columns] == ["order_id", "net_amount", "_delivery_date", "_batch_id"]
    con.execute("insert into raw.web_orders values ('O1', 1, '2026-05-01', 'run1')")
    mirror_batches(con, tmp_path, "raw", "web_orders")
    assert _files(tmp_path) == ["raw/web_orders/_delivery_date=2026-05-01/batch_run1.parquet"]


def test_a_table_without_batches_is_written_again_whole(tmp_path):
    con = duckdb.connect()
    con.execute("create schema ml")
    con.execute("create table ml.customer_clv (customer_id varchar, clv_365d double)")
    mirror_whole(con, tmp_path, "ml", "customer_clv")
    con.execute("insert into ml.customer_clv values ('C1', 12.5)")
    mirror_whole(con, tmp_path, "ml", "customer_clv")
    assert _files(tmp_path) == ["ml/customer_clv/data.parquet"]
    assert con.execute(f"select * from '{tmp_path}/ml/customer_clv/data.parquet'").fetchall() == [
        ("C1", 12.5)
    ]
