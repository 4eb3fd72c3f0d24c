{{ config(materialized=stateful_materialization(), unique_key='identifier_key') }}

-- Which identifiers each identifier was carried with, blocklisted ones included
-- (the blocklist is applied on read, in int_identity__identifier_pairs). Records
-- with the same identifier set are folded first (a person's hundred orders with
-- one email and one cookie make one set), so the work follows distinct sets, not
-- records. An incremental build recomputes the links of the identifiers of the
-- records that changed, from every record carrying them: a link appears or goes
-- only with a record that carries or carried both ends, so the links of every
-- other identifier stay as they are. An identifier left with no link keeps one
-- row whose linked_identifier_key is null.
with

record_identifier_states as {{ not_materialized() }} (

    select * from {{ ref('int_identity__record_identifier_states') }}

),

changed_identifiers as (

    {{ changed_state_keys('record_identifier_states', 'identifier_key') }}

),

latest_state as (

    select max(_state_written_at) as state_written_until
    from record_identifier_states

),

-- Read twice on an increment: scanned again for the records it needs, not copied
-- whole (see the import CTE rule, tests/unit/test_dbt_sql_rules.py).
current_rows as {{ not_materialized() }} (

    select
        record_key,
        identifier_key
    from record_identifier_states
    where is_current

),

{% if is_incremental() %}
affected_records as (

    select distinct current_rows.record_key
    from current_rows
    inner join changed_identifiers
        on current_rows.identifier_key = changed_identifiers.identifier_key

),
{% endif %}

record_sets as (

    select {{ sorted_list_agg('current_rows.identifier_key') }} as identifier_keys
    from current_rows
    {%- if is_incremental() %}
    inner join affected_records on current_rows.record_key = affected_records.record_key
    {%- endif %}
    group by current_rows.record_key

),

identifier_sets as (

    select distinct identifier_keys
    from record_sets

),

numbered_sets as (

    select
        row_number() over (order by identifier_keys) as set_id,
        identifier_keys
    from identifier_sets
    where {{ list_size('identifier_keys') }} > 1

),

members as (

    select
        set_id,
        {{ unnest_list('identifier_keys') }} as identifier_key
    from numbered_sets

),

links as (

    select distinct
        members.identifier_key,
        linked.identifier_key as linked_identifier_key
    from members
    inner join members as linked
        on
            members.set_id = linked.set_id
            and members.identifier_key <> linked.identifier_key
    {%- if is_incremental() %}
    where members.identifier_key in (select changed_identifiers.identifier_key from changed_identifiers)
    {%- endif %}

),

final as (

    select
        changed_identifiers.identifier_key,
        links.linked_identifier_key,
        latest_state.state_written_until as _state_written_at
    from changed_identifiers
    cross join latest_state
    left join links on changed_identifiers.identifier_key = links.identifier_key

)

select * from final
