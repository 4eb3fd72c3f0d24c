"""PII: every column of every table of the published file (cast to text, whatever its type)
holds no e-mail address, phone number, person's name or social handle found in `raw`.

Values are compared in normal forms by equality: e-mails lower-cased, phones as their digits
(whole and last 10; placeholders of one repeated digit aside), names and handles as
lower-cased words. The same scan over the internal, unmasked `marts` schema must find them,
which shows the scan can see a leak. (tests/e2e's scan covers only VARCHAR columns, three
e-mail sources, CRM phones as bare digits and last names.)
"""

from __future__ import annotations

import duckdb
import pytest

from orchestration.lib.contract import SOURCES
from orchestration.lib.publish import EMAIL_PATTERN

pytestmark = pytest.mark.e2e

PHONE_RUN = r"\+?[0-9][0-9 ().-]{5,}[0-9]"


def identifier_values(kind: str) -> str:
    """`select <column>` over every raw column that carries identifiers of `kind`."""
    return " union all ".join(
        f'select "{c.name}" as v from wh.raw.{s.name}'
        for s in SOURCES
        for c in s.columns
        if c.identifier == kind
    )


PERSONAL = f"""
create or replace temp table personal as
with emails as ({identifier_values("email")}),
phones as ({identifier_values("phone")}),
handles as ({identifier_values("social_handle")}),
names as (
    select first_name as v from wh.raw.crm_customers
    union all select last_name from wh.raw.crm_customers
)
select distinct 'email' as kind, lower(trim(v)) as value from emails where v like '%@%'
union all select distinct 'phone', regexp_replace(v, '[^0-9]', '', 'g') from phones
union all select distinct 'phone', right(regexp_replace(v, '[^0-9]', '', 'g'), 10) from phones
union all select distinct 'name', lower(trim(v)) from names
union all select distinct 'handle', lower(trim(split_part(v, ':', -1))) from handles
"""


def cells_sql(con, database: str, schema: str) -> tuple[str, int]:
    columns = con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where database_name = ? and schema_name = ? order by all",
        [database, schema],
    ).fetchall()
    sql = " union all ".join(
        f"select '{t}.{c}' as col, cast(\"{c}\" as varchar) as v "
        f'from {database}.{schema}."{t}" where "{c}" is not null'
        for t, c in columns
    )
    return sql, len(columns)


def personal_data_hits(con, database: str, schema: str) -> dict[str, set[str]]:
    """kind -> `table.column`s of `database.schema` holding that kind of raw personal data."""
    cells, n_columns = cells_sql(con, database, schema)
    assert n_columns > 50
    con.execute(f"create or replace temp table cells as {cells}")
    con.execute(
        f"""
        create or replace temp table found as
        select col, lower(unnest(regexp_extract_all(v, '{EMAIL_PATTERN}'))) as value,
            'email' as kind from cells
        union all
        select col, regexp_replace(unnest(regexp_extract_all(v, '{PHONE_RUN}')), '[^0-9]', '',
            'g'), 'phone' from cells
        union all
        select col, unnest(regexp_split_to_array(lower(v), '[^a-z0-9_.]+')), 'word' from cells
        """
    )
    hits = con.execute(
        """
        select p.kind, f.col from found f join personal p on p.value = f.value
            and (p.kind = f.kind or (f.kind = 'word' and p.kind in ('name', 'handle')))
        where length(p.value) >= 4
            -- a shared placeholder such as 0000000000 is nobody's number (and every id's digits)
            and not (p.kind = 'phone' and replace(p.value, left(p.value, 1), '') = '')
        group by all
        """
    ).fetchall()
    generic = con.execute("select distinct col from found where kind = 'email'").fetchall()
    result: dict[str, set[str]] = {}
    for kind, col in hits + [("email pattern", c) for (c,) in generic]:
        result.setdefault(kind, set()).add(col)
    return result


@pytest.fixture(scope="module")
def scan(clean_run):
    con = duckdb.connect()
    con.execute(f"attach '{clean_run.warehouse}' as wh (read_only)")
    con.execute(f"attach '{clean_run.published}' as pub (read_only)")
    con.execute(PERSONAL)
    yield con
    con.close()


def test_raw_personal_data_is_there_to_look_for(scan):
    counts = dict(scan.execute("select kind, count(*) from personal group by kind").fetchall())
    assert counts["email"] > 300 and counts["phone"] > 300 and counts["name"] > 40
    assert counts["handle"] > 5


def test_the_scan_finds_personal_data_in_the_unmasked_marts(scan):
    hits = personal_data_hits(scan, "wh", "marts")
    for kind, column in [
        ("email", "dim_customers.email"),
        ("email pattern", "dim_customers.email"),
        ("phone", "dim_customers.phone"),
        ("name", "dim_customers.first_name"),
        ("name", "dim_customers.last_name"),
    ]:
        assert column in hits.get(kind, set()), (kind, column)


def test_published_file_holds_no_personal_data_from_raw(scan):
    assert personal_data_hits(scan, "pub", "main") == {}
