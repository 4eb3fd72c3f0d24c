{{ config(materialized=python_read_materialization()) }}

-- Each normalised identifier a record carries now, namespaced (the current rows of
-- int_identity__record_identifier_states). Blocklisted placeholders are kept here,
-- flagged, so they can be counted; the flag is looked up on read, so a changed
-- blocklist seed applies to the next build without rebuilding the states.
with

record_identifier_states as (

    select * from {{ ref('int_identity__record_identifier_states') }}

),

blocklist as (

    select * from {{ ref('int_identifier_blocklist') }}

),

final as (

    select
        record_identifier_states.record_key,
        record_identifier_states.source,
        record_identifier_states.source_record_id,
        record_identifier_states.is_resolved_record,
        record_identifier_states.occurred_at,
        record_identifier_states.identifier_type,
        record_identifier_states.identifier_value,
        record_identifier_states.identifier_key,
        record_identifier_states.is_strong,
        blocklist.reason as blocklist_reason
    from record_identifier_states
    left join blocklist
        on lower(record_identifier_states.identifier_key) = blocklist.identifier_key
    where record_identifier_states.is_current

)

select * from final
