"""Phones to E.164 with libphonenumber, once per distinct raw value (lib/phones)."""

from datetime import datetime, timedelta

import duckdb
import pytest

from orchestration.lib.ingest import ensure_raw_schema
from orchestration.lib.phones import (
    BLOCKLIST_SOURCE,
    LOOKUP_TABLE,
    normalize_phones,
    refresh_phone_lookup,
)
from orchestration.lib.settings import PhoneRegions, load_settings

# One Chinese mobile as customers type it (the numbering plan gives 11 digits, 138 a
# China Mobile prefix).
CHINESE_MOBILE_FORMS = [
    "+86 138 0013 8000",
    "86-138-0013-8000",
    "(138) 0013-8000",
    "13800138000",
    "+8613800138000",
    "138 0013 8000",
]


def e164(values, region):
    table = normalize_phones(values, region)
    return dict(zip(table["raw_value"], table["e164"], strict=True))


def test_chinese_mobile_in_every_form_reads_as_one_number():
    assert set(e164(CHINESE_MOBILE_FORMS, "CN").values()) == {"+8613800138000"}


def test_a_bare_chinese_mobile_is_not_turned_into_a_us_number():
    # 1 + 10 digits looks like a US number with its country code; 380 is no US area code
    found = normalize_phones(["13800138000"], "US")
    assert found["e164"].isna().all()
    assert found["problem"][0] == "not a valid number of country code +1 (US)"
    # written with its country code, it is the Chinese number in any region
    assert e164(["+86 138 0013 8000"], "US") == {"+86 138 0013 8000": "+8613800138000"}


def test_unallocated_prefix_and_garbage_get_no_number_and_a_reason():
    found = normalize_phones(["+86 154 6429 2684", "call me", "12-34"], "CN").set_index("raw_value")
    assert found["e164"].isna().all()
    assert (
        found.loc["+86 154 6429 2684", "problem"] == "not a valid number of country code +86 (CN)"
    )
    assert found.loc["call me", "problem"] == "not a phone number (NOT_A_NUMBER)"


def test_us_forms_and_other_countries():
    assert e164(["(212) 555-0134", "+1 212.555.0134", "1-212-555-0134"], "US") == dict.fromkeys(
        ["(212) 555-0134", "+1 212.555.0134", "1-212-555-0134"], "+12125550134"
    )
    assert e164(["+44 20 7946 0958"], "US") == {"+44 20 7946 0958": "+442079460958"}
    # a Shanghai landline with its trunk prefix
    assert e164(["021-6234 5678"], "CN") == {"021-6234 5678": "+862162345678"}
    # the same digits are a different number in another plan: the region decides
    assert e164(["(212) 555-0134"], "CN") != e164(["(212) 555-0134"], "US")


def test_each_distinct_value_once_and_nulls_dropped():
    found = normalize_phones(["13800138000", None, "13800138000", "138 0013 8000"], "CN")
    assert sorted(found["raw_value"]) == ["138 0013 8000", "13800138000"]


def _insert(con, source: str, column: str, values, loaded_at: datetime) -> None:
    for line, value in enumerate(values, start=2):
        con.execute(
            f"insert into raw.{source} by name select ? as {column}, ? as _file, ? as _line, "
            "?::timestamp as _ingested_at, date '2024-01-01' as _delivery_date",
            [value, f"{source}/2024-01-01/a.csv", line, loaded_at],
        )


def _lookup(con) -> dict[tuple[str, str], tuple[str, str | None]]:
    rows = con.execute(f"select source_name, raw_value, region, e164 from {LOOKUP_TABLE}")
    return {(s, raw): (region, number) for s, raw, region, number in rows.fetchall()}


@pytest.fixture
def warehouse(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        ensure_raw_schema(con)
        yield con


def test_lookup_reads_each_source_in_its_region_and_only_new_values(warehouse):
    con = warehouse
    night_1 = datetime(2024, 1, 2, 1, 0)
    _insert(con, "pos_transactions", "phone", ["13800138000", "13800138000"], night_1)
    _insert(con, "web_orders", "phone", ["(212) 555-0134", "13800138000"], night_1)
    regions = PhoneRegions("US", {"pos_transactions": "CN"})

    added = refresh_phone_lookup(con, regions)

    lookup = _lookup(con)
    assert lookup[("pos_transactions", "13800138000")] == ("CN", "+8613800138000")
    assert lookup[("web_orders", "13800138000")] == ("US", None)
    assert lookup[("web_orders", "(212) 555-0134")] == ("US", "+12125550134")
    assert added["pos_transactions"] == {"added": 1, "invalid": 0, "dropped_for_region_change": 0}
    assert added["web_orders"]["invalid"] == 1
    # the placeholder seed is read like a source, with the default region
    assert lookup[(BLOCKLIST_SOURCE, "8005551000")] == ("US", "+18005551000")
    assert lookup[(BLOCKLIST_SOURCE, "0000000000")] == ("US", None)

    # The next night parses only what it has not seen.
    _insert(
        con,
        "pos_transactions",
        "phone",
        ["13800138000", "+86 139 0000 0001"],
        night_1 + timedelta(days=1),
    )
    added = refresh_phone_lookup(con, regions)
    assert added["pos_transactions"]["added"] == 1
    assert added["web_orders"]["added"] == added[BLOCKLIST_SOURCE]["added"] == 0
    assert _lookup(con)[("pos_transactions", "+86 139 0000 0001")] == ("CN", "+8613900000001")


def test_rows_loaded_before_the_last_scan_are_read_only_within_the_lookback(warehouse):
    con = warehouse
    _insert(con, "crm_customers", "phone", ["(212) 555-0134"], datetime(2024, 1, 2, 1, 0))
    refresh_phone_lookup(con, PhoneRegions())
    # loaded with a clock set back: 30 minutes, and 3 hours, before the last scan
    _insert(con, "crm_customers", "phone", ["(212) 555-0135"], datetime(2024, 1, 2, 0, 30))
    _insert(con, "crm_customers", "phone", ["(212) 555-0136"], datetime(2024, 1, 1, 22, 0))
    refresh_phone_lookup(con, PhoneRegions(), lookback_hours=2)
    lookup = _lookup(con)
    assert ("crm_customers", "(212) 555-0135") in lookup
    assert ("crm_customers", "(212) 555-0136") not in lookup


def test_a_changed_region_reads_the_source_again(warehouse):
    con = warehouse
    _insert(con, "pos_transactions", "phone", ["13800138000"], datetime(2024, 1, 2, 1, 0))
    refresh_phone_lookup(con, PhoneRegions("US"))
    assert _lookup(con)[("pos_transactions", "13800138000")] == ("US", None)

    added = refresh_phone_lookup(con, PhoneRegions("US", {"pos_transactions": "CN"}))

    assert added["pos_transactions"] == {"added": 1, "invalid": 0, "dropped_for_region_change": 1}
    assert _lookup(con)[("pos_transactions", "13800138000")] == ("CN", "+8613800138000")


def test_region_settings(monkeypatch):
    assert load_settings({}).phone_regions == PhoneRegions("US", {})
    regions = load_settings(
        {"PHONE_REGION": "cn", "PHONE_REGION_BY_SOURCE": "web_orders=us, pos_transactions=HK"}
    ).phone_regions
    assert regions.for_source("web_orders") == "US"
    assert regions.for_source("pos_transactions") == "HK"
    assert regions.for_source("crm_customers") == "CN"
    with pytest.raises(ValueError, match="PHONE_REGION='China' is not an ISO-3166 region"):
        load_settings({"PHONE_REGION": "China"})
    with pytest.raises(ValueError, match="'shop=CN' is not <source>=<region>"):
        load_settings({"PHONE_REGION_BY_SOURCE": "shop=CN"})
