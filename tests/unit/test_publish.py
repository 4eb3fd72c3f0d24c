import fcntl
import hashlib
import os

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.lib.publish import (
    KAnonymityError,
    NothingToRollBackError,
    PiiLeakError,
    PublishedMart,
    connect_reader,
    hash_key,
    k_anonymity_violations,
    marts_to_publish,
    publish_marts,
    rollback,
)

KEY = "test-key"


def make_warehouse(path, orders: int):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_orders as select range as id, 'crm:C' || range as "
            "customer_id, current_timestamp as _changed_at from range(?)",
            [orders],
        )
        con.execute("create table marts.internal_only as select 1 as secret")


def make_crm_warehouse(path, mart_values: list[str | None]):
    """A warehouse with raw and staging CRM rows (the personal data to look for) and one
    mart whose `label` column holds `mart_values`."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw; create schema staging; create schema marts")
        con.execute(
            "create table raw.crm_customers as select * from (values "
            "('C1', ' Ann ', 'Lee', 'Ann.Lee@Example.com ', '(415) 555-0101'), "
            "('C2', 'José', 'García-Ruiz', 'jg@example', '4155550102'), "
            "('C3', 'Bo', null, null, '12')) "
            "as t(customer_ref, first_name, last_name, email, phone)"
        )
        # Staging keeps the latest name: Ann married, both names are personal data.
        con.execute(
            "create table staging.stg_crm__customers as select * from (values "
            "('C1', 'Ann', 'Lee-Smith')) as t(customer_ref, first_name, last_name)"
        )
        con.execute("create table raw.web_orders as select '+1 650 555 0103' as phone")
        con.execute(
            "create table marts.rpt_labels as select range as id, "
            "$values[range + 1] as label from range(len($values))",
            {"values": mart_values},
        )


def read(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def listing(directory):
    return sorted(p.name for p in directory.iterdir())


def parquet_rows(publish_dir, table, link="parquet"):
    return pq.read_table(publish_dir / link / f"{table}.parquet").num_rows


def test_publish_copies_only_allow_listed_tables_and_hashes_pii(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    result = publish_marts(
        warehouse, publish_dir, {"fct_orders": PublishedMart(pii=("customer_id",))}, KEY
    )
    assert result.tables == {"fct_orders": 3}
    assert result.previous is None
    assert read(result.path, "select table_name from information_schema.tables") == [
        ("fct_orders",)
    ]
    expected = [(i, hashlib.sha256(f"{KEY}crm:C{i}".encode()).hexdigest()) for i in range(3)]
    # the warehouse's bookkeeping (`_changed_at`) stays behind
    assert read(result.path, "select * from fct_orders order by id") == expected
    # The Parquet set is the same masked content, behind the `parquet` link.
    assert (publish_dir / "parquet").is_symlink()
    assert os.readlink(publish_dir / "parquet") == result.parquet.name
    assert listing(result.parquet) == ["fct_orders.parquet"]
    table = pq.read_table(publish_dir / "parquet" / "fct_orders.parquet").sort_by("id")
    assert list(zip(*table.to_pydict().values(), strict=True)) == expected
    assert listing(publish_dir) == [
        ".publish.lock",
        ".publish_state.json",
        "marts.duckdb",
        "parquet",
        result.parquet.name,
    ]


def test_the_hash_key_is_nowhere_in_the_published_files(tmp_path):
    key = "k3y-" + "e1b2" * 8
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, 50)
    result = publish_marts(
        warehouse, tmp_path / "publish", {"fct_orders": PublishedMart(pii=("customer_id",))}, key
    )
    files = [result.path, *result.parquet.iterdir()]
    assert len(files) == 2
    for path in files:
        data = path.read_bytes()
        assert b"crm:C1" not in data  # the masked values are not there either
        assert key.encode() not in data and key.encode("utf-16-le") not in data, path


def test_open_reader_keeps_its_version_and_previous_is_kept(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    first = publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    reader = connect_reader(publish_dir / "marts.duckdb")
    warehouse.unlink()
    make_warehouse(warehouse, 5)
    result = publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    # The reader opened before the swap still sees the complete old version...
    assert reader.execute("select count(*) from fct_orders").fetchone() == (3,)
    reader.close()
    # ...new readers see the new one, and the old one is kept for rollback.
    assert read(result.path, "select count(*) from fct_orders") == [(5,)]
    assert read(result.previous, "select count(*) from fct_orders") == [(3,)]
    assert parquet_rows(publish_dir, "fct_orders") == 5
    assert os.readlink(publish_dir / "parquet.previous") == first.parquet.name
    assert pq.read_table(first.parquet / "fct_orders.parquet").num_rows == 3
    # A third publish drops the oldest Parquet set: two versions are kept.
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    assert not first.parquet.exists()
    assert os.readlink(publish_dir / "parquet.previous") == result.parquet.name
    assert len([p for p in listing(publish_dir) if p.startswith("parquet.v")]) == 2


def test_rollback_swaps_current_and_previous_and_twice_is_a_no_op(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    with pytest.raises(NothingToRollBackError, match="nothing published"):
        rollback(publish_dir)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    with pytest.raises(NothingToRollBackError, match=r"marts\.previous\.duckdb is missing"):
        rollback(publish_dir)
    warehouse.unlink()
    make_warehouse(warehouse, 5)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    before = listing(publish_dir)

    def versions():
        return (
            read(publish_dir / "marts.duckdb", "select count(*) from fct_orders")[0][0],
            parquet_rows(publish_dir, "fct_orders"),
            read(publish_dir / "marts.previous.duckdb", "select count(*) from fct_orders")[0][0],
            parquet_rows(publish_dir, "fct_orders", "parquet.previous"),
        )

    assert versions() == (5, 5, 3, 3)
    assert rollback(publish_dir) == publish_dir / "marts.duckdb"
    assert versions() == (3, 3, 5, 5)
    rollback(publish_dir)
    assert versions() == (5, 5, 3, 3)
    assert listing(publish_dir) == before  # no temp files left behind
    # After a rollback the next publish keeps the rolled-back-to version as previous.
    rollback(publish_dir)
    warehouse.unlink()
    make_warehouse(warehouse, 7)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    assert versions() == (7, 7, 3, 3)


def test_rollback_refuses_while_a_publish_holds_the_directory(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    with open(publish_dir / ".publish.lock") as lock:  # as a running publish holds it
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(RuntimeError, match="is busy: a publish or rollback is running"):
            rollback(publish_dir)
    rollback(publish_dir)


def test_rollback_refuses_a_parquet_set_without_its_previous(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    (publish_dir / "parquet.previous").unlink()
    with pytest.raises(NothingToRollBackError, match=r"parquet and parquet\.previous must both"):
        rollback(publish_dir)


@pytest.mark.parametrize(
    ("tables", "error", "message"),
    [
        (
            {"fct_orders": PublishedMart(), "no_such_mart": PublishedMart()},
            ValueError,
            "marts.no_such_mart is not in",
        ),
        (
            {"fct_orders": PublishedMart(pii=("e_mail",))},
            ValueError,
            r"no column \['e_mail'\] marked pii",
        ),
    ],
)
def test_failed_publish_leaves_the_published_file_alone(tmp_path, tables, error, message):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    before = listing(publish_dir)
    with pytest.raises(error, match=message):
        publish_marts(warehouse, publish_dir, tables, KEY)
    assert read(publish_dir / "marts.duckdb", "select count(*) from fct_orders") == [(3,)]
    assert listing(publish_dir) == before


def test_leftovers_of_an_interrupted_publish_are_removed(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_warehouse(warehouse, 3)
    publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    (publish_dir / f".marts.duckdb.{'ab' * 16}.tmp").write_bytes(b"half a file")
    (publish_dir / f".marts.duckdb.{'ab' * 16}.tmp.wal").write_bytes(b"its log")
    (publish_dir / "parquet.v20260101T000000000000Z").mkdir()
    result = publish_marts(warehouse, publish_dir, {"fct_orders": PublishedMart()}, KEY)
    assert listing(publish_dir) == sorted(
        [
            ".publish.lock",
            ".publish_state.json",
            "marts.duckdb",
            "marts.previous.duckdb",
            "parquet",
            "parquet.previous",
            result.parquet.name,
            os.readlink(publish_dir / "parquet.previous"),
        ]
    )


def test_an_email_address_blocks_publishing(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_touchpoints as select * from (values "
            "('web', 'email:Ann.Lee@example.co.uk'), ('store', null)) as t(channel, customer_id)"
        )
    with pytest.raises(
        PiiLeakError, match=r"fct_touchpoints.customer_id \(1 rows: e-mail address\)"
    ):
        publish_marts(warehouse, tmp_path / "publish", {"fct_touchpoints": PublishedMart()}, KEY)
    assert not (tmp_path / "publish" / "marts.duckdb").exists()
    result = publish_marts(
        warehouse,
        tmp_path / "publish",
        {"fct_touchpoints": PublishedMart(pii=("customer_id",))},
        KEY,
    )
    assert read(result.path, "select count(customer_id) from fct_touchpoints") == [(1,)]


PHONES = [
    "+14155550101",
    "+1 415-555-0101",
    "+1 (415) 555 0101",
    "+44 20 7946 0958",
    "call (415) 555-0101 today",
    "415-555-0101",
    "415.555.0101",
    "020 7946 0958",
    "07700 900123",
    "06 12 34 56 78",
]
NOT_PHONES = [
    "O000012345",
    "crm:C00001234",
    "L-2024-000123",
    "123e4567-e89b-12d3-a456-426614174000",
    "5f2b9a" * 10 + "abcd",
    "2026-01-15",
    "2026-01-15 10:20:30",
    "2026-01-15T10:20:30+01:00",
    "20260115",
    "1234567.89",
    "-1234567.89",
    "+12345678.90",
    "1,234,567.89",
    "1 234 567,89",
    "192.168.100.200",
    "v1.2.3",
    "2025-W03",
    "Champions",
    "At Risk",
    "web > app > store",
    "O-415-555-0101",
]


def test_phone_numbers_block_publishing_but_ids_amounts_and_dates_do_not(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    make_crm_warehouse(warehouse, [*NOT_PHONES, None])
    publish_marts(warehouse, publish_dir, {"rpt_labels": PublishedMart()}, KEY)
    for phone in PHONES:
        warehouse.unlink()
        make_crm_warehouse(warehouse, [*NOT_PHONES, phone])
        with pytest.raises(PiiLeakError, match=r"rpt_labels.label \(1 rows: (.*, )?phone number"):
            publish_marts(warehouse, publish_dir, {"rpt_labels": PublishedMart()}, KEY)
    # Each refusal left the first version in place.
    assert read(publish_dir / "marts.duckdb", "select count(label) from rpt_labels") == [
        (len(NOT_PHONES),)
    ]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("Ann Lee", "customer name"),  # raw name, trimmed
        ("ANN   lee-smith", "customer name"),  # staging name, any case and spacing
        ("Thanks, José García-Ruiz!", "customer name"),  # inside a text, accents kept
        ("ann.lee@example.com", "customer name, e-mail address, raw e-mail value"),
        ("JG@example", "raw e-mail value"),  # not address-shaped, still a raw value
        ("4155550102", "raw phone value"),  # a bare number that is a customer's phone
        ("1-415-555-0102", "raw phone value"),  # the same number with the country code
        ("16505550103", "raw phone value"),  # from another source's raw table
    ],
)
def test_raw_personal_values_and_full_names_block_publishing(tmp_path, value, kind):
    warehouse = tmp_path / "warehouse.duckdb"
    make_crm_warehouse(warehouse, ["Champions", value, value])
    with pytest.raises(PiiLeakError, match=rf"rpt_labels.label \(2 rows: {kind}\)") as raised:
        publish_marts(warehouse, tmp_path / "publish", {"rpt_labels": PublishedMart()}, KEY)
    assert value not in str(raised.value)  # the message does not leak what it found
    assert not (tmp_path / "publish" / "marts.duckdb").exists()


def test_name_parts_and_similar_words_are_not_names(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    values = ["Ann", "Lee", "Annabel Leeds", "Lee Ann", "Bo", "12", "Ann Leeway", "jg"]
    make_crm_warehouse(warehouse, values)
    result = publish_marts(warehouse, tmp_path / "publish", {"rpt_labels": PublishedMart()}, KEY)
    # Names: Ann Lee and José García-Ruiz (raw), Ann Lee-Smith (staging); Bo has no
    # last name. E-mails with an @: 2. Phones with 7+ digits: 3.
    assert result.pii_reference == {"names": 3, "emails": 2, "phones": 3}
    assert read(result.path, "select count(*) from rpt_labels") == [(len(values),)]


def test_bi_connection_cannot_read_other_files_or_unlock_itself(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, 3)
    secret = tmp_path / "secret.csv"
    secret.write_text("a,b\n1,2\n")
    result = publish_marts(warehouse, tmp_path / "publish", {"fct_orders": PublishedMart()}, KEY)
    with connect_reader(result.path) as con:
        assert con.execute("select count(*) from fct_orders").fetchone() == (3,)
        for sql in (
            f"select * from read_csv('{secret}')",
            f"select * from '{result.parquet / 'fct_orders.parquet'}'",
            f"attach '{warehouse}' as wh",
            f"copy fct_orders to '{tmp_path / 'out.csv'}'",
        ):
            with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
                con.execute(sql)
        for sql in ("set enable_external_access = true", "set lock_configuration = false"):
            with pytest.raises(duckdb.InvalidInputException, match="configuration has been locked"):
                con.execute(sql)
        with pytest.raises(duckdb.InvalidInputException, match="read-only mode"):
            con.execute("create table x as select 1")
    assert not (tmp_path / "out.csv").exists()


def test_hash_key_comes_from_the_environment_or_a_kept_file(tmp_path, monkeypatch):
    monkeypatch.delenv("PUBLISH_HASH_KEY", raising=False)
    first = hash_key(tmp_path)
    assert len(first) == 64 and hash_key(tmp_path) == first
    assert (tmp_path / ".publish_hash_key").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("PUBLISH_HASH_KEY", "from-env")
    assert hash_key(tmp_path) == "from-env"


def make_keyed_warehouse(path):
    """A mart kept by key (`replace_keys`: rows with `_changed_at`) and one rebuilt
    whole."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_events as select 'E' || range as event_key, "
            "'C' || (range % 3) as customer_id, range * 10 as value, "
            "timestamp '2026-01-01 02:00' as _changed_at from range(6)"
        )
        con.execute("create table marts.rpt_totals as select 60 as total")


def replace_by_key(path, at: str, rows: dict[str, int | None]):
    """What a replace_keys build does: each key's rows replaced (None: removed)."""
    with duckdb.connect(str(path)) as con:
        for key, value in rows.items():
            con.execute("delete from marts.fct_events where event_key = ?", [key])
            if value is not None:
                con.execute("insert into marts.fct_events values (?, 'C9', ?, ?)", [key, value, at])
        con.execute("update marts.rpt_totals set total = total + 1")


def contents(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            t: con.execute(f"select * from {t} order by all").fetchall()
            for (t,) in con.execute("select table_name from duckdb_tables() order by 1").fetchall()
        }


def test_a_mart_kept_by_key_is_published_by_key_with_the_content_of_a_whole_copy(tmp_path):
    warehouse, publish_dir = tmp_path / "warehouse.duckdb", tmp_path / "publish"
    make_keyed_warehouse(warehouse)
    tables = {
        "fct_events": PublishedMart(pii=("customer_id", "event_key")),
        "rpt_totals": PublishedMart(),
    }
    keyed = {"fct_events": "event_key"}

    def publish(directory=publish_dir):
        return publish_marts(warehouse, directory, tables, KEY, replace_keys=keyed)

    assert publish().tables_by_key == []  # nothing published yet: every table whole
    replace_by_key(warehouse, "2026-01-02 02:00", {"E1": 111, "E2": None, "E7": 70})
    result = publish()
    assert result.tables_by_key == ["fct_events"]
    whole = publish_marts(warehouse, tmp_path / "whole", tables, KEY)
    assert contents(result.path) == contents(whole.path)
    assert result.tables == {"fct_events": 6, "rpt_totals": 1}
    assert parquet_rows(publish_dir, "fct_events") == 6
    # a later night by key again, then a rollback: the file is no longer the one the
    # state describes, so everything is copied whole
    replace_by_key(warehouse, "2026-01-03 02:00", {"E3": None})
    assert publish().tables_by_key == ["fct_events"]
    rollback(publish_dir)
    assert publish().tables_by_key == []
    # a rebuilt table (every row newer than the copy) is copied whole
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.fct_events set _changed_at = timestamp '2026-01-04 02:00'")
    result = publish()
    assert result.tables_by_key == []
    assert contents(result.path) == contents(
        publish_marts(warehouse, tmp_path / "w2", tables, KEY).path
    )


def make_people_warehouse(path, rows: list[tuple[str, str, str]]):
    """marts.dim_people: one row per person with three quasi-identifiers."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.dim_people as select row_number() over () as id, * "
            "from (select unnest($rows, recursive := true)) as t(country, city, band)",
            {"rows": [{"country": a, "city": b, "band": c} for a, b, c in rows]},
        )


PEOPLE = {"dim_people": PublishedMart(quasi_identifiers=("band", "city", "country"))}


def test_a_combination_of_quasi_identifiers_shared_by_fewer_than_k_rows_is_refused(tmp_path):
    warehouse, publish_dir = tmp_path / "warehouse.duckdb", tmp_path / "publish"
    # groups: FR/Paris/25-34 x 3, FR/Lyon/25-34 x 3, FR/other/65+ x 2, CN/other/65+ x 1
    rows = [("FR", "Paris", "25-34")] * 3 + [("FR", "Lyon", "25-34")] * 3
    make_people_warehouse(warehouse, rows + [("FR", "other", "65+")] * 2)
    publish_marts(warehouse, publish_dir, PEOPLE, KEY, k_anonymity=2)
    before = listing(publish_dir)
    warehouse.unlink()
    make_people_warehouse(warehouse, [*rows, ("FR", "other", "65+"), ("CN", "other", "65+")])
    with pytest.raises(KAnonymityError) as refused:
        publish_marts(warehouse, publish_dir, PEOPLE, KEY, k_anonymity=2)
    # two groups of one row; the smallest by its values first (band, city, country)
    assert str(refused.value) == (
        "not published, the previous version stays: dim_people: 2 group(s) of (band, city, "
        "country) have fewer than 2 rows (2 rows in all; the smallest, 1 row(s): band=65+, "
        "city=other, country=CN) (generalise them further in the model)"
    )
    assert listing(publish_dir) == before
    assert read(publish_dir / "marts.duckdb", "select count(*) from dim_people") == [(8,)]
    # with k = 3 the first file would not have passed either: FR/other/65+ has 2 rows
    first = tmp_path / "first.duckdb"
    make_people_warehouse(first, rows + [("FR", "other", "65+")] * 2)
    with pytest.raises(KAnonymityError, match=r"1 group\(s\) .* fewer than 3 rows \(2 rows"):
        publish_marts(first, tmp_path / "k3", PEOPLE, KEY, k_anonymity=3)


def test_quasi_identifiers_come_from_the_yaml_and_exclude_hashing():
    def column(description="", **meta):
        return {"description": description, "meta": meta}

    manifest = {
        "nodes": {
            "model.p.dim_people": {
                "name": "dim_people",
                "description": "People. Grain - one row per person.\n",
                "resource_type": "model",
                "schema": "marts",
                "columns": {
                    "id": column(pii=True),
                    "city": column(quasi_identifier=True),
                    "band": column(quasi_identifier=True),
                    "visits": column(" Visits so far. "),
                },
            },
            "model.p.stg_people": {
                "name": "stg_people",
                "description": "",
                "resource_type": "model",
                "schema": "staging",
                "columns": {"email": column()},
            },
        }
    }
    assert marts_to_publish(manifest) == {
        "dim_people": PublishedMart(
            pii=("id",),
            quasi_identifiers=("band", "city"),
            description="People. Grain - one row per person.",
            column_descriptions={"id": "", "city": "", "band": "", "visits": "Visits so far."},
        )
    }
    with pytest.raises(ValueError, match=r"\['city'\] are marked both pii and quasi_identifier"):
        PublishedMart(pii=("city",), quasi_identifiers=("city",))
    with pytest.raises(ValueError, match=r"dim_people has no column \['town'\] marked quasi"):
        con = duckdb.connect()
        con.execute("create table dim_people as select 1 as id")
        k_anonymity_violations(con, {"dim_people": PublishedMart(quasi_identifiers=("town",))}, 2)


def make_identity_warehouse(path, customers: list[str]):
    """dim_customers with `customers`; the identity map knows K1 (two CRM refs and an
    e-mail), K2 (one ref) and K3 (forgotten: not in dim_customers)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema identity")
        con.execute(
            "create table marts.dim_customers as select unnest($ids) as customer_id",
            {"ids": customers},
        )
        con.execute(
            "create table identity.customer_identifiers as select * from (values "
            "('crm', 'C-1', 'K1'), ('crm', 'C-1b', 'K1'), ('email', 'a@example.com', 'K1'), "
            "('crm', 'C-2', 'K2'), ('crm', 'C-3', 'K3')) "
            "as t(identifier_type, identifier_value, customer_id)"
        )


def test_the_crm_key_file_maps_published_ids_to_crm_refs_and_is_rolled_back(tmp_path):
    warehouse, publish_dir = tmp_path / "warehouse.duckdb", tmp_path / "publish"
    tables = {"dim_customers": PublishedMart(pii=("customer_id",))}
    make_identity_warehouse(warehouse, ["K1", "K2"])
    publish_marts(warehouse, publish_dir, tables, KEY, crm_keys=True)
    keys = publish_dir / "restricted" / "crm_keys.duckdb"

    def published(customer_id):
        return hashlib.sha256(f"{KEY}{customer_id}".encode()).hexdigest()

    def crm_refs(path=keys):
        return read(path, "select customer_id, customer_ref from customer_crm_refs order by 2")

    assert crm_refs() == [
        (published("K1"), "C-1"),
        (published("K1"), "C-1b"),
        (published("K2"), "C-2"),
    ]
    # the ids are those of the published dim_customers: a CRM list joins to it
    published_ids = read(publish_dir / "marts.duckdb", "select customer_id from dim_customers")
    assert {c for c, _ in crm_refs()} == {c for (c,) in published_ids}
    assert (keys.parent.stat().st_mode & 0o777, keys.stat().st_mode & 0o777) == (0o700, 0o600)
    assert "RESTRICTED" in read(keys, "select comment from duckdb_tables()")[0][0]

    warehouse.unlink()
    make_identity_warehouse(warehouse, ["K2"])  # K1 gone (merged away or forgotten)
    publish_marts(warehouse, publish_dir, tables, KEY, crm_keys=True)
    assert crm_refs() == [(published("K2"), "C-2")]
    assert listing(keys.parent) == ["crm_keys.duckdb", "crm_keys.previous.duckdb"]
    rollback(publish_dir)
    assert len(crm_refs()) == 3
    assert crm_refs(keys.with_name("crm_keys.previous.duckdb")) == [(published("K2"), "C-2")]


COLUMNS = "select * from duckdb_columns() where not internal"


def test_the_descriptions_travel_as_comments_and_parquet_metadata(tmp_path):
    warehouse, publish_dir = tmp_path / "warehouse.duckdb", tmp_path / "publish"
    make_warehouse(warehouse, 2)
    mart = PublishedMart(
        pii=("customer_id",),
        description="Orders. Grain - one row per order; it's the buyer's.",
        column_descriptions={"id": "Order id.", "customer_id": "The buyer."},
    )
    result = publish_marts(warehouse, publish_dir, {"fct_orders": mart}, KEY)
    hashed = (
        "The buyer. Published as a keyed SHA-256 hash (hex): joins across marts, not reversible."
    )
    assert read(result.path, "select comment from duckdb_tables()") == [(mart.description,)]
    assert read(
        result.path, f"select column_name, comment from ({COLUMNS}) order by column_index"
    ) == [("id", "Order id."), ("customer_id", hashed)]
    metadata = pq.read_metadata(result.parquet / "fct_orders.parquet").metadata
    assert {k.decode(): v.decode() for k, v in metadata.items() if k != b"ARROW:schema"} == {
        "description": mart.description,
        "column:id": "Order id.",
        "column:customer_id": hashed,
    }
    # a table copied from the previous file by key gets them again, and so does a column
    # the YAML does not describe
    mart = PublishedMart(pii=("customer_id",), description="Orders, again.")
    result = publish_marts(warehouse, publish_dir, {"fct_orders": mart}, KEY)
    assert read(result.path, f"select comment from ({COLUMNS}) order by column_index") == [
        ("",),
        (hashed.removeprefix("The buyer. "),),
    ]
