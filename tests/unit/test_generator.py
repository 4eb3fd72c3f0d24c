"""The demo data generator: deterministic, complete, readable and truthful.

Files are read back with plain `csv`/`json`/pyarrow (not the generator's code), so the
checks are independent of how the files were written.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import phonenumbers
import pyarrow.parquet as pq
import pytest

from orchestration.generator import generate
from orchestration.generator.__main__ import country_shares, main
from orchestration.generator.held import deliver_next, delivery_days
from orchestration.generator.population import (
    Context,
    country_probabilities,
    make_persons,
    simulate_purchases,
)
from orchestration.generator.sources import Chunk
from orchestration.lib.contract import SOURCES, SOURCES_BY_NAME
from orchestration.lib.settings import REPO_ROOT

CUSTOMERS, DAYS, SEED = 300, 30, 7
EXTRA_COLUMNS = {"app_events": {"app_version"}}


def _run(root: Path, seed: int = SEED, hold_back_days: int = 0) -> dict:
    return generate(
        CUSTOMERS,
        DAYS,
        seed,
        date(2026, 6, 30),
        root / "landing",
        root / "truth",
        held_dir=root / "held",
        hold_back_days=hold_back_days,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("gen")
    return {
        name: (base / name, _run(base / name, seed, hold_back))
        for name, seed, hold_back in (
            ("a", SEED, 0),
            ("b", SEED, 0),
            ("other", SEED + 1, 0),
            ("held", SEED, 2),
        )
    }


@pytest.fixture(scope="module")
def run(runs):
    root, summary = runs["a"]
    return root / "landing", root / "truth", summary


@pytest.fixture(scope="module")
def truth(run):
    return pq.read_table(run[1] / "records")


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.glob("*/*/*") if p.is_file())


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """Header (lower-cased) and (physical line or row number, record) of a landing file."""
    name = path.name
    raw = path.read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    if ".parquet" in name:
        table = pq.read_table(io.BytesIO(raw))
        header = [c.lower() for c in table.column_names]
        rows = [{k.lower(): v for k, v in r.items()} for r in table.to_pylist()]
        return header, list(enumerate(rows, start=1))
    text = raw.decode("utf-8")
    if ".jsonl" in name:
        rows = [json.loads(line) for line in text.splitlines()]
        rows = [{k.lower(): v for k, v in r.items()} for r in rows]
        return sorted(rows[0]), list(enumerate(rows, start=1))
    lines = list(csv.reader(io.StringIO(text)))
    header = [h.lower() for h in lines[0]]
    return header, [(i, dict(zip(header, r, strict=False))) for i, r in enumerate(lines[1:], 2)]


def test_same_seed_same_bytes_other_seed_differs(runs):
    a, b, other = (_hashes(runs[k][0]) for k in ("a", "b", "other"))
    assert a == b
    assert len(a) > 100
    landing = {k: v for k, v in a.items() if k.startswith("landing")}
    other_landing = {k: v for k, v in other.items() if k.startswith("landing")}
    assert landing != other_landing


def test_every_source_has_files_and_every_format_is_used(run):
    landing, _, summary = run
    by_source = defaultdict(set)
    for p in _files(landing):
        by_source[p.parent.parent.name].add(p.name.split(".", 1)[1])
        date.fromisoformat(p.parent.name)  # folder is a delivery date
    assert set(by_source) == {s.name for s in SOURCES}
    sources_per_format = defaultdict(set)
    for source, exts in by_source.items():
        for ext in exts:
            sources_per_format[ext].add(source)
    assert set(sources_per_format) == {"csv", "csv.gz", "jsonl", "jsonl.gz", "parquet"}
    assert all(len(s) >= 3 for s in sources_per_format.values()), sources_per_format
    assert sum(summary["files"].values()) == len(_files(landing))


def test_ground_truth_lies_outside_landing(tmp_path):
    with pytest.raises(ValueError, match="must not nest"):
        generate(10, 5, 1, date(2026, 6, 30), tmp_path / "l", tmp_path / "l" / "truth")
    with pytest.raises(ValueError, match="must not nest"):
        generate(10, 5, 1, date(2026, 6, 30), tmp_path / "l", tmp_path / "t", held_dir=tmp_path)


def test_held_back_days_are_the_last_ones_and_are_delivered_oldest_first(runs):
    (full, _), (root, summary) = runs["a"], runs["held"]
    every_day = sorted({p.parent.name for p in _files(full / "landing")})
    assert summary["held_days"] == every_day[-2:]
    landing, held = _hashes(root / "landing"), _hashes(root / "held")
    assert {p.split("/")[1] for p in held} == set(every_day[-2:])
    assert {p.split("/")[1] for p in landing} == set(every_day[:-2])
    # The same bytes as the data set generated without holding back, split in two.
    assert landing | held == _hashes(full / "landing")
    assert _hashes(root / "truth") == _hashes(full / "truth")

    copy = root.parent / "held_copy"
    shutil.copytree(root, copy)
    assert deliver_next(copy / "held", copy / "landing") == [every_day[-2]]
    assert delivery_days(copy / "landing") == every_day[:-1]
    assert deliver_next(copy / "held", copy / "landing", 5) == [every_day[-1]]
    assert deliver_next(copy / "held", copy / "landing") == []
    assert _hashes(copy / "landing") == _hashes(full / "landing")


def test_a_held_dir_holding_files_is_not_overwritten_unasked(tmp_path):
    kept = tmp_path / "held" / "web_orders" / "2026-06-01" / "orders.csv"
    kept.parent.mkdir(parents=True)
    kept.write_text("order_id\nO1\n")
    args = (10, 5, 1, date(2026, 6, 30), tmp_path / "l", tmp_path / "truth")
    with pytest.raises(FileExistsError, match="already holds files"):
        generate(*args, held_dir=tmp_path / "held", hold_back_days=1)
    assert not (tmp_path / "l").exists()
    generate(*args, overwrite=True, held_dir=tmp_path / "held", hold_back_days=1)
    assert not kept.exists()
    assert len(delivery_days(tmp_path / "held")) == 1


def test_files_already_in_landing_are_never_overwritten_unasked(tmp_path):
    delivered = tmp_path / "l" / "web_orders" / "2026-06-01" / "orders.csv"
    delivered.parent.mkdir(parents=True)
    delivered.write_text("order_id\nO1\n")
    with pytest.raises(FileExistsError, match="already holds files"):
        generate(10, 5, 1, date(2026, 6, 30), tmp_path / "l", tmp_path / "truth")
    assert delivered.read_text() == "order_id\nO1\n"
    generate(10, 5, 1, date(2026, 6, 30), tmp_path / "l", tmp_path / "truth", overwrite=True)
    assert not delivered.exists()


def test_ground_truth_has_one_row_per_physical_record(run, truth):
    landing, _, summary = run
    per_file = defaultdict(list)
    for f, line in zip(truth["file"].to_pylist(), truth["line"].to_pylist(), strict=True):
        per_file[f].append(line)
    unreadable = summary["anomalies"]["unreadable_file"]["file"]
    assert set(per_file) == {str(p.relative_to(landing)) for p in _files(landing)}
    for p in _files(landing):
        rel = str(p.relative_to(landing))
        if rel == unreadable:
            continue
        _, records = _read(p)
        assert sorted(per_file[rel]) == [line for line, _ in records], rel
    assert sum(summary["rows"].values()) == truth.num_rows


def test_headers_follow_the_contract(run):
    landing, _, summary = run
    unreadable = summary["anomalies"]["unreadable_file"]["file"]
    upper_seen = False
    for p in _files(landing):
        if str(p.relative_to(landing)) == unreadable:
            continue
        source = p.parent.parent.name
        if p.name.endswith((".csv", ".csv.gz")):
            first = gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes()
            header_line = first.split(b"\n", 1)[0]
            upper_seen |= header_line == header_line.upper()
        header, _ = _read(p)
        expected = set(SOURCES_BY_NAME[source].column_names) | EXTRA_COLUMNS.get(source, set())
        assert set(header) == expected, p
    assert upper_seen


def test_duckdb_reads_a_clean_csv_with_contract_columns(run, truth):
    landing = run[0]
    bad_files = set(truth.filter(truth["expect_reject"])["file"].to_pylist())
    path = next(
        p
        for p in sorted(landing.glob("web_orders/*/*.csv"))
        if str(p.relative_to(landing)) not in bad_files
    )
    rel = duckdb.sql(f"select * from read_csv('{path}', header=true, all_varchar=true)")
    assert {c.lower() for c in rel.columns} == set(SOURCES_BY_NAME["web_orders"].column_names)
    assert len(rel.fetchall()) == len(_read(path)[1])


def test_planted_anomalies(run, truth):
    landing, _, summary = run
    anomalies = summary["anomalies"]
    manifest = json.loads((run[1] / "manifest.json").read_text())
    assert manifest["anomalies"] == anomalies
    malformed = anomalies["malformed_rows"]
    assert 10 <= len(malformed) <= 20
    assert len({m["source"] for m in malformed}) >= 8
    rejects = truth.filter(truth["expect_reject"])
    assert sorted(
        zip(rejects["file"].to_pylist(), rejects["line"].to_pylist(), strict=True)
    ) == sorted((m["file"], m["line"]) for m in malformed)
    for m in malformed:
        _, records = _read(landing / m["file"])
        row = dict(records)[m["line"]]
        if m["column"] is None:
            assert len(row) < len(csv_row_fields(landing / m["file"], m["line"]))
        else:  # a typed format (JSON, Parquet) may hold a planted "11" as the number 11
            got = row.get(m["column"])
            assert (None if got in (None, "") else str(got)) == m["value"]
    dup = anomalies["duplicate_file"]
    original, copy = landing / dup["original"], landing / dup["copy"]
    assert original.read_bytes() == copy.read_bytes() and original.name != copy.name
    assert copy.parent.name >= original.parent.name
    bad = landing / anomalies["unreadable_file"]["file"]
    with pytest.raises((EOFError, OSError)):
        gzip.decompress(bad.read_bytes())


def csv_row_fields(path: Path, line: int) -> list[str]:
    text = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return next(csv.reader([text.decode().splitlines()[line - 1]]))


def _records(landing: Path, source: str, truth) -> list[dict]:
    """Records of a source with the person ground truth says they belong to."""
    owner = {
        (f, line): pid
        for f, line, pid in zip(
            truth["file"].to_pylist(),
            truth["line"].to_pylist(),
            truth["person_id"].to_pylist(),
            strict=True,
        )
    }
    out = []
    for p in sorted(landing.glob(f"{source}/*/*")):
        rel = str(p.relative_to(landing))
        try:
            _, records = _read(p)
        except (EOFError, OSError):
            continue
        out += [{**r, "_person": owner[(rel, line)]} for line, r in records]
    return out


def test_identifiers_agree_with_ground_truth(run, truth):
    landing = run[0]
    refs = defaultdict(set)
    for source in ("crm_customers", "web_orders"):
        for r in _records(landing, source, truth):
            if r.get("customer_ref"):
                refs[r["_person"]].add(r["customer_ref"])
    assert refs
    assert all(len(v) == 1 for v in refs.values())
    owners = defaultdict(set)
    for pid, v in refs.items():
        owners[next(iter(v))].add(pid)
    assert all(len(v) == 1 for v in owners.values())
    orders = _records(landing, "web_orders", truth)
    emails = {r["email"] for r in orders}
    assert any(e != e.strip() for e in emails if e) and any(e != e.lower() for e in emails if e)
    assert any(not r.get("customer_ref") for r in orders)  # guest checkouts
    stamps = [r["order_ts"] for r in orders]
    assert any(s.endswith("Z") for s in stamps) and any(s[-6] in "+-" for s in stamps)


def test_order_versions_arrive_on_later_days(run, truth):
    orders = _records(run[0], "web_orders", truth)
    days = defaultdict(dict)
    for r in orders:
        days[r["order_id"]][r["status"]] = r["updated_at"]
    lifecycles = [v for v in days.values() if "placed" in v and "delivered" in v]
    assert lifecycles
    assert any("shipped" in v for v in lifecycles)


def test_repeat_buying_and_churn(run, truth):
    persons = pq.read_table(run[1] / "persons.parquet").to_pylist()
    assert len(persons) == CUSTOMERS
    assert any(not p["is_alive"] and p["churn_date"] for p in persons)
    assert any(p["is_alive"] for p in persons)
    assert {p["channel_habit"] for p in persons} == {"store_only", "online_only", "omnichannel"}
    purchases = defaultdict(set)
    for source, kind in (("web_orders", None), ("pos_transactions", "sale")):
        for r in _records(run[0], source, truth):
            if kind is None or r.get("txn_type") == kind:
                purchases[r["_person"]].add(r.get("order_id") or r.get("transaction_id"))
    assert sum(len(v) >= 2 for v in purchases.values()) >= 10


def test_shared_identifiers_are_planted(run, truth):
    """Placeholders and family devices: the traps identity resolution must not fall into."""
    landing = run[0]
    pos = _records(landing, "pos_transactions", truth)
    placeholder_people = {r["_person"] for r in pos if r.get("phone") == "0000000000"}
    store_phone_people = {r["_person"] for r in pos if (r.get("phone") or "").startswith("800555")}
    assert placeholder_people and store_phone_people
    persons = pq.read_table(run[1] / "persons.parquet").to_pylist()
    owners = defaultdict(set)
    for p in persons:
        if p["device_id"]:
            owners[p["device_id"]].add(p["person_id"])
    assert any(2 <= len(v) <= 4 for v in owners.values())
    assert all(len(v) <= 4 for v in owners.values())


def test_push_reaches_app_installs(run, truth):
    """A push goes once per campaign to an install (a family tablet is one install), and
    each opened push shows up in the app as a push_open on that device."""
    landing = run[0]
    push = [r for r in _records(landing, "campaign_events", truth) if r.get("channel") == "push"]
    sent = [(r["campaign_id"], r["device_id"]) for r in push if r["event_type"] == "sent"]
    assert sent and len(sent) == len(set(sent))
    opened = {(r["campaign_id"], r["device_id"]) for r in push if r["event_type"] == "open"}
    app = _records(landing, "app_events", truth)
    push_opens = {(r["campaign_id"], r["device_id"]) for r in app if r["event_type"] == "push_open"}
    rejected_app_rows = sum(  # a planted reject may be one of those push_open rows
        s == "app_events" and bad
        for s, bad in zip(
            truth["source"].to_pylist(), truth["expect_reject"].to_pylist(), strict=True
        )
    )
    assert opened and len(opened - push_opens) <= rejected_app_rows


def test_app_login_is_a_session_state(run, truth):
    """All events of one app session carry the same customer_ref (signed in or not)."""
    refs = defaultdict(set)
    for r in _records(run[0], "app_events", truth):
        refs[r["session_id"]].add(r.get("customer_ref") or None)
    assert len(refs) > 20
    assert all(len(v) == 1 for v in refs.values())
    assert {None} in refs.values() and any(None not in v for v in refs.values())


def test_survey_invitations_identify_the_respondent(run, truth):
    """A survey answers a personal email or SMS invitation: it carries one of the two."""
    surveys = _records(run[0], "survey_responses", truth)
    assert surveys
    assert all(r.get("email") or r.get("phone") for r in surveys)


# -- international mix --------------------------------------------------------------------
CN_SHARES = {"CN": 0.9, "US": 0.1}


def _generate_mix(root: Path, shares: dict[str, float], customers: int, days: int) -> Path:
    generate(
        customers,
        days,
        SEED,
        date(2026, 6, 30),
        root / "landing",
        root / "truth",
        country_shares=shares,
    )
    return root


@pytest.fixture(scope="module")
def cn_run(tmp_path_factory):
    """A Shanghai retailer's data set: China is the home country."""
    return _generate_mix(tmp_path_factory.mktemp("cn"), CN_SHARES, 2_000, 20)


@pytest.fixture(scope="module")
def us_run_with_cn(tmp_path_factory):
    """A US retailer with Chinese customers: their numbers are foreign ones."""
    return _generate_mix(tmp_path_factory.mktemp("us_cn"), {"US": 0.6, "CN": 0.4}, CUSTOMERS, DAYS)


def _phones_e164(root: Path) -> dict[str, str]:
    persons = pq.read_table(root / "truth" / "persons.parquet").to_pylist()
    return {p["person_id"]: p["phone_e164"] for p in persons if p["phone_e164"]}


def _written_phones(root: Path) -> list[tuple[str, str]]:
    """(person, phone as written) of every person's phone in the sources, without the
    placeholders typed at a till or checkout (store lines, zeros)."""
    truth = pq.read_table(root / "truth" / "records")
    sources = (
        "crm_customers",
        "web_orders",
        "pos_transactions",
        "service_tickets",
        "survey_responses",
        "campaign_events",
    )
    return [
        (r["_person"], r["phone"])
        for source in sources
        for r in _records(root / "landing", source, truth)
        if r.get("phone") and r["phone"] != "0000000000" and not r["phone"].startswith("800555")
    ]


def test_a_zero_share_at_the_end_leaves_the_country_draw_unchanged():
    """Why CN is the last country: the default population draws as it did before CN."""
    draws = [
        np.random.default_rng([SEED, 0]).choice(len(p), size=10_000, p=p)
        for p in ((0.85, 0.07, 0.04, 0.04), (0.85, 0.07, 0.04, 0.04, 0.0))
    ]
    assert (draws[0] == draws[1]).all()


def test_default_country_shares_are_the_ones_given_explicitly(runs, tmp_path):
    """A default run is a run given the default shares; only its manifest does not name
    them, so it stays what it always was."""
    shares = {"US": 0.85, "GB": 0.07, "DE": 0.04, "FR": 0.04}
    explicit, default = _generate_mix(tmp_path, shares, CUSTOMERS, DAYS), runs["a"][0]
    explicit_files, default_files = _hashes(explicit), _hashes(default)
    manifest = "truth/manifest.json"
    assert explicit_files.pop(manifest) != default_files.pop(manifest)
    assert explicit_files == default_files
    given = json.loads((explicit / manifest).read_text())
    assert given["parameters"].pop("country_shares") == shares
    assert given == json.loads((default / manifest).read_text())


def test_a_china_heavy_population_has_valid_chinese_mobiles(cn_run):
    phones = _phones_e164(cn_run).values()
    chinese = [p for p in phones if p.startswith("+86")]
    assert len(chinese) / len(phones) == pytest.approx(CN_SHARES["CN"], abs=0.03)
    assert all(p.startswith(("+86", "+1")) for p in phones)
    for e164 in chinese:
        number = phonenumbers.parse(e164)
        assert phonenumbers.is_valid_number(number), e164
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE, e164
    assert len(set(phones)) == len(phones)


@pytest.mark.parametrize(("mix", "home"), [("cn_run", "CN"), ("us_run_with_cn", "US")])
def test_written_phones_resolve_to_the_persons_number(mix, home, request):
    """Every phone as a source wrote it reads, in the home country, as the person's own
    number; a foreign plan's number is written only with its country code."""
    root = request.getfixturevalue(mix)
    e164 = _phones_e164(root)
    home_code = phonenumbers.country_code_for_region(home)
    written = _written_phones(root)
    codes = {phonenumbers.parse(e164[person]).country_code for person, _ in written}
    assert codes == {1, 86}
    national = set()
    for person, raw in written:
        number = phonenumbers.parse(raw, home)
        read = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        assert read == e164[person], raw
        if number.country_code != home_code:
            assert raw.startswith(f"+{number.country_code}"), raw
        elif not raw.startswith("+"):
            national.add(raw)
    assert national


def test_chinese_customers_have_names_and_cities_in_characters(cn_run):
    truth = pq.read_table(cn_run / "truth" / "records")
    crm = [r for r in _records(cn_run / "landing", "crm_customers", truth) if r.get("city")]
    chinese = [r for r in crm if r["country"] == "CN"]
    assert len(chinese) / len(crm) == pytest.approx(CN_SHARES["CN"], abs=0.05)

    def in_characters(text: str) -> bool:
        return all("\u4e00" <= ch <= "\u9fff" for ch in text)

    assert all(in_characters(r["last_name"] + r["first_name"] + r["city"]) for r in chinese)
    assert {len(r["first_name"]) for r in chinese} == {1, 2}
    cities = [r["city"] for r in chinese]
    assert max(set(cities), key=cities.count) == "上海"
    persons = pq.read_table(cn_run / "truth" / "persons.parquet").to_pylist()
    assert all(p["email"].isascii() for p in persons)
    social = [p["social_handle"] for p in persons if p["social_handle"]]
    assert all(s.isascii() for s in social)
    platforms = [s.split(":")[0] for s in social]
    assert sum(p in ("wechat", "weibo") for p in platforms) / len(platforms) > 0.7


def test_country_shares_are_checked(tmp_path, capsys):
    assert country_shares("cn=0.9, US=0.1") == {"CN": 0.9, "US": 0.1}
    for bad in ("CN=0.9,US=0.2", "XX=1", "CN=1,US=0", "CN=1.2,US=-0.2", "CN", "CN=a"):
        with pytest.raises(SystemExit):
            main(["--country-shares", bad])
        assert "--country-shares" in capsys.readouterr().err
    with pytest.raises(ValueError, match="sum to 1"):
        generate(
            10, 5, 1, date(2026, 6, 30), tmp_path / "l", tmp_path / "t", country_shares={"CN": 0.5}
        )


def test_gmail_aliases_are_forms_of_the_persons_own_gmail_address(tmp_path, run, truth):
    root = tmp_path / "aliases"
    generate(
        CUSTOMERS, DAYS, SEED, date(2026, 6, 30), root / "landing", root / "truth",
        gmail_alias_share=0.5,
    )  # fmt: skip
    persons = {
        p["person_id"]: p for p in pq.read_table(root / "truth" / "persons.parquet").to_pylist()
    }
    orders = _records(root / "landing", "web_orders", pq.read_table(root / "truth" / "records"))
    aliased = [r for r in orders if "+shop@" in (r.get("email") or "")]
    assert aliased
    for r in aliased:
        own = {persons[r["_person"]]["email"], persons[r["_person"]]["email_after_change"]}
        gmail = {e for e in own if e and e.endswith("@gmail.com")}
        local, _, domain = r["email"].strip().lower().partition("+shop@")
        assert domain == "gmail.com"
        assert local in {e.split("@")[0].replace(".", "").lower() for e in gmail}
    # the demo (no share) has none
    assert not any(
        "+shop@" in (r.get("email") or "") for r in _records(run[0], "web_orders", truth)
    )


# -- feedback texts -----------------------------------------------------------------------
TEXT_COLUMN = {
    "survey_responses": "comment",
    "service_tickets": "text",
    "social_interactions": "text",
}
# The labels of the shared taxonomy (issue 15): the topics are the warehouse's own, those
# of the keyword seed the scorer matches, and `other`.
LABELS = {
    "text_language": {"en", "zh", "und"},
    "text_sentiment": {"negative", "neutral", "positive"},
    "text_topic": {
        *pd.read_csv(REPO_ROOT / "seeds" / "feedback_topic_keywords.csv")["topic"],
        "other",
    },
}
HAN = re.compile(r"[\u4e00-\u9fff]")


def _texts(root: Path, source: str) -> list[tuple[dict, dict]]:
    """(record, its ground-truth row) of every record of a text source, as written."""
    truth = pq.read_table(root / "truth" / "records" / f"{source}.parquet").to_pylist()
    by_line = {(t["file"], t["line"]): t for t in truth}
    out = []
    for p in sorted((root / "landing").glob(f"{source}/*/*")):
        _, records = _read(p)
        rel = str(p.relative_to(root / "landing"))
        out += [(r, by_line[(rel, line)]) for line, r in records]
    return out


@pytest.fixture(scope="module")
def text_roots(runs, cn_run):
    return [runs["a"][0], cn_run]


def test_every_text_has_labels_of_the_taxonomy_and_no_text_none(text_roots):
    languages, sources = set(), set()
    for root in text_roots:
        for source, column in TEXT_COLUMN.items():
            for record, truth in _texts(root, source):
                text = record.get(column) or None  # CSV writes a null as ""
                labels = {k: truth[k] for k in LABELS}
                if text is None:
                    assert set(labels.values()) == {None}, (source, labels)
                    continue
                assert all(labels[k] in LABELS[k] for k in LABELS), (text, labels)
                # the language label agrees with the script the text is written in
                han, latin = HAN.search(text), re.search("[A-Za-z]", text)
                language = labels["text_language"]
                assert (language == "zh") == bool(han), (text, language)
                assert (language == "und") == (not han and not latin), (text, language)
                # no e-mail address or phone number: only the brand is mentioned
                assert "@" not in text.replace("@brand ", "").replace("@品牌官方 ", ""), text
                assert not re.search(r"\d{5}", text), text
                languages.add(language)
                sources.add(source)
    assert {"en", "zh"} <= languages
    assert sources == set(TEXT_COLUMN)


def test_wechat_and_weibo_posts_are_in_chinese(text_roots):
    posts = [
        (record["text"], truth["text_language"])
        for root in text_roots
        for record, truth in _texts(root, "social_interactions")
        if record.get("text") and record["platform"] in ("wechat", "weibo")
    ]
    assert len(posts) > 10
    assert all(HAN.search(text) and language == "zh" for text, language in posts), posts


def test_the_versions_of_a_ticket_share_one_text(text_roots):
    texts = defaultdict(list)
    for root in text_roots:
        for record, truth in _texts(root, "service_tickets"):
            labels = tuple(truth[k] for k in LABELS)
            texts[(root, record["ticket_id"])].append((record["text"], labels))
    assert sum(len(v) >= 2 for v in texts.values()) > 10
    assert all(len(set(v)) == 1 for v in texts.values())


def test_same_seed_same_texts(runs):
    def texts(name: str) -> list:
        root = runs[name][0]
        return [
            (record.get(column), truth["text_sentiment"], truth["text_topic"])
            for source, column in TEXT_COLUMN.items()
            for record, truth in _texts(root, source)
        ]

    assert texts("a") == texts("b")
    assert texts("a") != texts("other")


@pytest.fixture(scope="module")
def big_chunk():
    """Batches of one chunk of 40,000 people (half in China) over a year, made in memory:
    enough comments to measure how their labels follow their causes."""
    n = 40_000
    shares = country_probabilities({"CN": 0.5, "US": 0.5})
    ctx = Context(SEED, n, 365, date(2026, 6, 30), n, shares)
    rng = ctx.rng(0, 0)
    persons = make_persons(ctx, rng, 0, n)
    chunk = Chunk(ctx, 0, persons, simulate_purchases(ctx, rng, persons))
    return {s: getattr(chunk, s)() for s in ("web_orders", "service_tickets", "survey_responses")}


def test_comment_sentiment_follows_the_score(big_chunk):
    batch = big_chunk["survey_responses"]
    sentiment = defaultdict(list)
    for survey, score, comment, label in zip(
        batch.columns["survey_type"].to_pylist(),
        batch.columns["score"].to_pylist(),
        batch.columns["comment"].to_pylist(),
        batch.truth["text_sentiment"].to_pylist(),
        strict=True,
    ):
        assert (comment is None) == (label is None)
        if comment is not None and survey == "nps":
            band = "detractor" if int(score) <= 6 else "promoter" if int(score) >= 9 else "passive"
            sentiment[band].append(label)
        elif comment is not None and survey == "csat":
            sentiment["csat top 2" if int(score) >= 4 else "csat"].append(label)

    def share(band: str, label: str) -> float:
        assert len(sentiment[band]) >= 50, band
        return sentiment[band].count(label) / len(sentiment[band])

    assert share("detractor", "negative") > 0.65
    assert share("promoter", "positive") > 0.7
    assert share("passive", "neutral") > 0.45
    assert share("csat top 2", "positive") > 0.8


def test_comment_topic_follows_the_cause(big_chunk):
    orders = big_chunk["web_orders"]
    returned = {
        order
        for order, status in zip(
            orders.columns["order_id"].to_pylist(),
            orders.columns["status"].to_pylist(),
            strict=True,
        )
        if status == "returned"
    }
    surveys = big_chunk["survey_responses"]
    topics = [
        topic
        for related, topic in zip(
            surveys.columns["related_id"].to_pylist(),
            surveys.truth["text_topic"].to_pylist(),
            strict=True,
        )
        if topic and related in returned
    ]
    assert len(topics) > 30
    assert topics.count("returns_refunds") / len(topics) > 0.5
    tickets = big_chunk["service_tickets"]
    expected = {
        "complaint": {"product_quality", "delivery"},
        "inquiry": {"sizing", "points_rewards", "delivery"},
        "return": {"returns_refunds"},
        "technical": {"app_website"},
        "billing": {"payment"},
        "praise": {"staff", "other"},
    }
    for category, topic, sentiment in zip(
        tickets.columns["category"].to_pylist(),
        tickets.truth["text_topic"].to_pylist(),
        tickets.truth["text_sentiment"].to_pylist(),
        strict=True,
    ):
        assert topic in expected[category], (category, topic)
        assert (sentiment == "positive") == (category == "praise"), (category, sentiment)
