"""Accuracy of identity resolution against the generator's ground truth.

`python scripts/identity_accuracy.py --warehouse data/warehouse/warehouse.duckdb
--ground-truth data/ground_truth`

Pairwise precision and recall over source records: two records are a true pair
when the same person made them, a predicted pair when they share a customer_id.
Both come from cluster contingency counts (sum of n*(n-1)/2 over cells), never by
listing pairs. A record left without a customer (no identifier, only excluded
ones) pairs with nothing: it counts in the true pairs and so lowers recall;
recall is also shown over records that carry a usable identifier.

Records of persons who asked to be forgotten (`is_deleted` in the ground truth,
not the warehouse's own flag, so a wrong forget cannot hide itself) are left out
of precision and recall — erasing their links is the point — and reported apart,
with how many of them the warehouse never linked to the deleted profile (those
keep a customer_id: nothing tells the warehouse they are the same person).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

# Ground-truth record ids keyed like int_source_records_resolved: the experiment
# key is `experiment|customer_ref|loyalty_id|email` with the email as typed.
GROUND_TRUTH_RECORDS = """
create temp table truth as
select distinct
    source,
    case
        when source = 'experiment_assignments' then
            trim(split_part(source_record_id, '|', 1)) || '|'
            || trim(split_part(source_record_id, '|', 2)) || '|'
            || trim(split_part(source_record_id, '|', 3)) || '|'
            || lower(trim(split_part(source_record_id, '|', 4)))
        else trim(source_record_id)
    end as source_record_id,
    records.person_id,
    coalesce(persons.is_deleted, false) as is_forgotten_person
from read_parquet($records) as records
left join read_parquet($persons) as persons using (person_id)
where records.person_id is not null and not records.expect_reject
"""

PAIRS = """
with cells as (
    select customer_id, person_id, count(*) as n
    from scored where customer_id is not null group by all
), by_customer as (
    select customer_id, sum(n) as n from cells group by all
), by_person as (
    select person_id, count(*) as n from scored group by all
)
select
    (select sum(n * (n - 1) / 2) from cells) as true_positive,
    (select sum(n * (n - 1) / 2) from by_customer) as predicted,
    (select sum(n * (n - 1) / 2) from by_person) as actual,
    (select sum(n * (n - 1) / 2) from (
        select person_id, count(*) as n from scored where has_identifier group by all
    )) as actual_identified
"""

SIZE_BUCKETS = """
with sizes as (
    select customer_id, count(*) as records, count(distinct person_id) as persons
    from scored where customer_id is not null group by all
)
select
    case
        when records = 1 then '1'
        when records <= 5 then '2-5'
        when records <= 20 then '6-20'
        when records <= 100 then '21-100'
        when records <= 1000 then '101-1000'
        else '>1000'
    end as records_per_customer,
    count(*) as customers,
    sum(records) as records,
    count(*) filter (where persons > 1) as customers_mixing_persons
from sizes group by all order by min(records)
"""

PLACEHOLDER_CLUSTERS = """
select count(distinct ci.customer_id)
from wh.identity.customer_identifiers as ci
where lower(ci.identifier_type || ':' || ci.identifier_value) in (
        select identifier_key from wh.intermediate.int_identifier_blocklist
    )
    or (ci.identifier_type = 'email' and ci.identifier_value = 'test@test.com')
    or (ci.identifier_type = 'phone' and ci.identifier_value like '+1800555%')
"""

# Phones: how many given values failed normalisation (every staging model with a phone),
# and how many phone identifiers in the graph are nobody's number (a wrong country code).
PHONE_MODELS = """
select table_name from information_schema.columns
where table_catalog = 'wh' and table_schema = 'staging' and column_name = 'phone_is_invalid'
order by 1
"""
PHONES_GIVEN_AND_FAILED = """
select count(*) filter (where phone is not null or phone_is_invalid),
    count(*) filter (where phone_is_invalid)
from wh.staging.{model}
"""
WRONG_PHONE_NUMBERS = """
select count(distinct identifier_value)
from wh.identity.customer_identifiers
where identifier_type = 'phone'
    and identifier_value not in (
        select phone_e164 from read_parquet($persons) where phone_e164 is not null
    )
"""


def phone_figures(con: duckdb.DuckDBPyConnection, persons: Path) -> tuple[int, int, int]:
    """(phones given, failed normalisation, phone identifiers that are nobody's number)."""
    given = failed = 0
    for (model,) in con.execute(PHONE_MODELS).fetchall():
        n_given, n_failed = con.execute(PHONES_GIVEN_AND_FAILED.format(model=model)).fetchone()
        given, failed = given + n_given, failed + n_failed
    wrong = con.execute(WRONG_PHONE_NUMBERS, {"persons": str(persons)}).fetchone()[0]
    return given, failed, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="warehouse.duckdb")
    parser.add_argument("--ground-truth", type=Path, required=True, help="GROUND_TRUTH_DIR")
    args = parser.parse_args()
    records = args.ground_truth / "records"
    if not records.is_dir():
        raise SystemExit(f"no ground truth records under {records}")
    if not args.warehouse.is_file():
        raise SystemExit(f"no warehouse file at {args.warehouse}")

    con = duckdb.connect()
    con.execute(f"attach '{args.warehouse}' as wh (read_only)")
    con.execute(
        GROUND_TRUTH_RECORDS,
        {
            "records": str(records / "*.parquet"),
            "persons": str(args.ground_truth / "persons.parquet"),
        },
    )
    con.execute(
        """
        create temp table all_scored as
        select r.source, r.source_record_id, r.customer_id, r.unresolved_reason,
            coalesce(r.unresolved_reason, '') not in ('no_identifier', 'forgotten')
                as has_identifier,
            t.person_id,
            t.is_forgotten_person
        from wh.intermediate.int_source_records_resolved as r
        inner join truth as t using (source, source_record_id)
        """
    )
    con.execute(
        "create temp table scored as select * from all_scored where not is_forgotten_person"
    )
    forgotten_records, forgotten_linked = con.execute(
        "select count(*), count(customer_id) from all_scored where is_forgotten_person"
    ).fetchone()
    resolved_total, matched = con.execute(
        "select (select count(*) from wh.intermediate.int_source_records_resolved),"
        " (select count(*) from all_scored)"
    ).fetchone()
    if matched < resolved_total:
        print(f"warning: {resolved_total - matched} resolved records have no ground truth row")
    tp, predicted, actual, actual_identified = con.execute(PAIRS).fetchone()
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    recall_identified = tp / actual_identified if actual_identified else 1.0
    reasons = con.execute(
        "select coalesce(unresolved_reason, 'resolved'), count(*) from scored group by 1 order by 1"
    ).fetchall()
    customers, persons, singletons, largest = con.execute(
        """
        select count(distinct customer_id), (select count(distinct person_id) from scored),
            (select count(*) from (select customer_id from scored where customer_id is not null
                group by 1 having count(*) = 1)),
            (select max(n) from (select count(*) as n from scored
                where customer_id is not null group by customer_id))
        from scored
        """
    ).fetchone()
    placeholder_clusters = con.execute(PLACEHOLDER_CLUSTERS).fetchone()[0]
    buckets = con.execute(SIZE_BUCKETS).fetchall()
    phones_given, phones_failed, phones_wrong = phone_figures(
        con, args.ground_truth / "persons.parquet"
    )

    print(f"records matched       {matched:>12,}")
    print(
        f"  forgotten persons'    {forgotten_records:>8,}   left out; still with a customer_id "
        f"(never linked to the deleted profile): {forgotten_linked:,}"
    )
    for reason, n in reasons:
        print(f"  {reason:<26}{n:>8,}")
    print(f"persons (truth)       {persons:>12,}")
    print(f"customers (resolved)  {customers:>12,}")
    print(f"true pairs            {int(actual):>12,}")
    print(f"predicted pairs       {int(predicted):>12,}")
    print(f"correct pairs         {int(tp):>12,}")
    print(f"precision             {precision:>12.5f}")
    print(f"recall                {recall:>12.5f}")
    print(f"recall (identified)   {recall_identified:>12.5f}   over records with an identifier")
    print(f"placeholder clusters  {placeholder_clusters:>12,}")
    print(f"largest customer      {largest:>12,} records")
    print(f"singleton customers   {singletons / customers:>12.2%}")
    print(f"phones given          {phones_given:>12,}   staging records with a phone value")
    print(
        f"  failed normalisation{phones_failed:>10,}   "
        f"({phones_failed / max(phones_given, 1):.2%}; placeholders such as 0000000000 fail)"
    )
    print(f"phone ids nobody has  {phones_wrong:>12,}   in the graph, not a person's true E.164")
    print("\nrecords/customer    customers      records   mixing persons")
    for bucket, n_customers, n_records, mixed in buckets:
        print(f"{bucket:<16}{n_customers:>12,}{n_records:>13,}{mixed:>17,}")
    print(
        "\n| records | persons | customers | precision | recall | recall (identified) "
        "| placeholder clusters | singletons | phones failing | phone ids nobody has |"
    )
    print(
        f"| {matched:,} | {persons:,} | {customers:,} | {precision:.4f} | {recall:.4f} "
        f"| {recall_identified:.4f} | {placeholder_clusters} | {singletons / customers:.1%} "
        f"| {phones_failed / max(phones_given, 1):.2%} | {phones_wrong:,} |"
    )


if __name__ == "__main__":
    main()
