{{ config(materialized=stateful_materialization(), unique_key='record_key') }}

-- The customer of every customer-facing record that carries an identifier,
-- before right to be forgotten: the customer of its strongest identifier that
-- resolves (strong before weak, then type priority, then key); null when only
-- excluded identifiers. An incremental build re-resolves only the records whose
-- identifiers changed (state rows written since the newest it read) and the
-- records carrying an identifier whose customer changed (assignments since the
-- newest it read); a re-resolved record that carries no identifier any more
-- keeps a row with carries_identifier false.
with

record_identifier_states as {{ not_materialized() }} (

    select * from {{ ref('int_identity__record_identifier_states') }}

),

identifier_assignments as {{ not_materialized() }} (

    select * from {{ ref('int_identity__identifier_assignments') }}

),

resolved_record_states as (

    select *
    from record_identifier_states
    where is_resolved_record

),

{% if is_incremental() %}
changed_records as (

    {{ changed_state_keys('resolved_record_states', 'record_key') }}

    union

    select resolved_record_states.record_key
    from resolved_record_states
    inner join identifier_assignments
        on resolved_record_states.identifier_key = identifier_assignments.identifier_key
    where
        resolved_record_states.is_current
        and identifier_assignments._assigned_at > (
            select {{ incremental_read_from('max(_assigned_at)') }} from {{ this }}
        )

),
{% endif %}

current_identifiers as (

    select resolved_record_states.*
    from resolved_record_states
    {%- if is_incremental() %}
    inner join changed_records
        on resolved_record_states.record_key = changed_records.record_key
    {%- endif %}
    where resolved_record_states.is_current

),

record_customers as (

    select
        current_identifiers.record_key,
        -- strong first, then the type's rank and the key: the smallest of this struct
        min_by(identifier_assignments.customer_id, {{ struct_of({
            'is_weak': 'not current_identifiers.is_strong',
            'type_rank': identifier_type_rank('current_identifiers.identifier_type'),
            'identifier_key': 'current_identifiers.identifier_key',
        }) }}) filter (where identifier_assignments.customer_id is not null) as customer_id
    from current_identifiers
    left join identifier_assignments
        on current_identifiers.identifier_key = identifier_assignments.identifier_key
    group by current_identifiers.record_key

),

{% if is_incremental() %}
re_resolved as (

    select
        changed_records.record_key,
        record_customers.customer_id,
        record_customers.record_key is not null as carries_identifier
    from changed_records
    left join record_customers on changed_records.record_key = record_customers.record_key

),
{% endif %}

-- What this build has read, for the next one.
states_read_until as (

    select max(_state_written_at) as _state_written_at
    from record_identifier_states

),

assignments_read_until as (

    select max(_assigned_at) as _assigned_at
    from identifier_assignments

),

final as (

    select
        resolved.record_key,
        resolved.customer_id,
        {{ 'resolved.carries_identifier' if is_incremental() else 'true' }} as carries_identifier,
        states_read_until._state_written_at,
        assignments_read_until._assigned_at,
        {{ build_timestamp() }} as _resolved_at
    from {{ 're_resolved' if is_incremental() else 'record_customers' }} as resolved
    cross join states_read_until
    cross join assignments_read_until

)

select * from final
