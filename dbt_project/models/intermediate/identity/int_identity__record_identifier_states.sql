{{ config(materialized=stateful_materialization(), unique_key='record_key') }}

-- The identity graph's raw material, kept up to date record by record: each
-- normalised identifier a record carries, namespaced. Records are every
-- customer-facing record (latest versions, int_touchpoints_unioned), which get
-- a customer, plus every CRM profile version, which only contributes links.
-- An incremental build reads only the records ingested after the newest one
-- the table holds for their source (less the lookback window), replaces their
-- rows, and keeps a row with is_current = false for each identifier a record
-- no longer carries, so the identifier-level models downstream know which
-- identifiers to recompute (all rows written by a build carry its
-- _state_written_at).
with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

crm_profile_versions as (

    select * from {{ ref('int_identity__crm_profile_versions') }}

),

-- Not materialized: an incremental build reads it twice (its sources, then its
-- rows), and a materialized copy would hold every record.
records as {{ not_materialized() }} (

    select
        touchpoint_key as record_key,
        source,
        source_record_id,
        true as is_resolved_record,
        occurred_at,
        customer_ref,
        loyalty_id,
        email,
        phone,
        cookie_id,
        device_id,
        card_hash,
        social_handle,
        _ingested_at
    from touchpoints

    union all

    select
        'crm_customers:' || customer_ref || '@' || _file || ':' || _line as record_key,
        'crm_customers' as source,
        customer_ref as source_record_id,
        false as is_resolved_record,
        updated_at as occurred_at,
        customer_ref,
        loyalty_id,
        email,
        phone,
        cast(null as string) as cookie_id,
        cast(null as string) as device_id,
        cast(null as string) as card_hash,
        cast(null as string) as social_handle,
        _ingested_at
    from crm_profile_versions
    where customer_ref is not null

),

{% if is_incremental() %}
-- Per source: staging tables are built separately, so one may hold rows ingested
-- before another's newest.
watermarks as (

    select
        source,
        is_resolved_record,
        max(_ingested_at) as ingested_until
    from {{ this }}
    group by source, is_resolved_record

),

-- The earliest point any source starts reading from, as one value: the scans
-- of the staging tables skip the row groups ingested before it (the per-source
-- join below cannot), so a night reads what was ingested since the last one,
-- not all history. A source the table holds nothing of reads everything.
read_from as (

    select min({{ incremental_read_from('watermarks.ingested_until') }}) as read_from
    from (select distinct source, is_resolved_record from records) as record_sources
    left join watermarks
        on
            record_sources.source = watermarks.source
            and record_sources.is_resolved_record = watermarks.is_resolved_record

),
{% endif %}

changed_records as (

    select records.*
    from records
    {% if is_incremental() -%}
    left join watermarks
        on
            records.source = watermarks.source
            and records.is_resolved_record = watermarks.is_resolved_record
    where
        records._ingested_at > (select read_from.read_from from read_from)
        and records._ingested_at > {{ incremental_read_from('watermarks.ingested_until') }}
    {%- endif %}

),

record_identifiers as (

    {%- for column, namespace in identifier_namespaces() %}

    select
        record_key,
        source,
        source_record_id,
        is_resolved_record,
        occurred_at,
        _ingested_at,
        '{{ namespace }}' as identifier_type,
        {{ column }} as identifier_value
    from changed_records
    where {{ column }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

current_rows as (

    select
        *,
        identifier_type || ':' || identifier_value as identifier_key,
        {{ is_strong_identifier('identifier_type') }} as is_strong,
        true as is_current,
        {{ build_timestamp() }} as _state_written_at
    from record_identifiers

),

{% if is_incremental() %}
-- What the changed records carried in the earlier build, as rows no longer
-- current. A row kept from an earlier build keeps its _state_written_at: a
-- build that stopped before the models downstream read it is caught up by the
-- next one. Joined to the changed records alone, not anti-joined to
-- current_rows: the optimizer cannot know how few records changed and would
-- otherwise match the whole table first (out of memory at 1M customers).
previous_rows as (

    select
        previous.record_key,
        changed_records.source,
        changed_records.source_record_id,
        changed_records.is_resolved_record,
        changed_records.occurred_at,
        previous.identifier_type,
        previous.identifier_value,
        previous.identifier_key,
        previous.is_strong,
        false as is_current,
        changed_records._ingested_at,
        case
            when previous.is_current then {{ build_timestamp() }}
            else previous._state_written_at
        end as _state_written_at
    from {{ this }} as previous
    inner join changed_records on previous.record_key = changed_records.record_key

),

-- An identifier a changed record still carries takes its current row; one it
-- carries no more, its earlier row (at most one of each per key).
candidate_rows as (

    select * from current_rows
    union all by name
    select * from previous_rows

),
{% endif %}

final as (

    {% if is_incremental() -%}
    select *
    from candidate_rows
    qualify row_number() over (
        partition by record_key, identifier_key
        order by is_current desc
    ) = 1
    {%- else -%}
    select * from current_rows
    {%- endif %}

)

select * from final
