{{ config(materialized=stateful_materialization(), unique_key='identifier_key') }}

-- When and where each identifier was seen, blocklisted ones included (the
-- blocklist is applied on read, in int_identity__identifiers). An incremental
-- build recomputes only the identifiers of the records that changed; one that
-- no record carries any more keeps a row with record_count 0.
with

record_identifier_states as {{ not_materialized() }} (

    select * from {{ ref('int_identity__record_identifier_states') }}

),

{% if is_incremental() %}
changed_identifiers as (

    {{ changed_state_keys('record_identifier_states', 'identifier_key') }}

),
{% endif %}

latest_state as (

    select max(_state_written_at) as state_written_until
    from record_identifier_states

),

current_rows as (

    select record_identifier_states.*
    from record_identifier_states
    {%- if is_incremental() %}
    inner join changed_identifiers
        on record_identifier_states.identifier_key = changed_identifiers.identifier_key
    {%- endif %}
    where record_identifier_states.is_current

),

seen as (

    select
        identifier_key,
        any_value(identifier_type) as identifier_type,
        any_value(identifier_value) as identifier_value,
        any_value(is_strong) as is_strong,
        min(occurred_at) as first_seen,
        max(occurred_at) as last_seen,
        {{ string_agg_ordered('source', "','", distinct=true) }} as sources,
        count(distinct record_key) as record_count
    from current_rows
    group by identifier_key

),

{% if is_incremental() %}
-- A changed identifier that no record carries any more keeps a row.
recomputed as (

    select
        changed_identifiers.identifier_key,
        seen.identifier_type,
        seen.identifier_value,
        seen.is_strong,
        seen.first_seen,
        seen.last_seen,
        seen.sources,
        coalesce(seen.record_count, 0) as record_count
    from changed_identifiers
    left join seen on changed_identifiers.identifier_key = seen.identifier_key

),
{% endif %}

final as (

    select
        sightings.*,
        latest_state.state_written_until as _state_written_at
    from {{ 'recomputed' if is_incremental() else 'seen' }} as sightings
    cross join latest_state

)

select * from final
