{{ config(
    materialized=stateful_materialization(),
    incremental_strategy='replace_keys',
    unique_key='touchpoint_key',
) }}

-- An incremental build rewrites the records whose resolution changed since the
-- newest row it wrote (int_source_records_resolved._changed_at: new or later
-- versions, re-resolved, forgotten) and every redacted record, which are numbered
-- together; the rows they had go, under whatever key (macros/incremental_replace_keys).
with

touchpoints as {{ not_materialized() }} (

    select * from {{ ref('int_touchpoints_unioned') }}

),

resolved_records as {{ not_materialized() }} (

    select * from {{ ref('int_source_records_resolved') }}

),

{% if is_incremental() %}
changed_keys as (

    select record_key
    from resolved_records
    where _changed_at > (
        select {{ incremental_read_from('max(_changed_at)') }} from {{ this }}
    )

    union

    select record_key
    from resolved_records
    where
        unresolved_reason = 'forgotten'
        and source in ('crm_customers', 'experiment_assignments')

),

-- the rows the rewritten records have now: under their record key, or redacted
rewritten_rows as (

    select touchpoint_key
    from {{ this }}
    where
        touchpoint_key in (select changed_keys.record_key from changed_keys)
        or (
            source in ('crm_customers', 'experiment_assignments')
            and source_record_id like 'forgotten-%'
        )

),
{% endif %}

resolved as (

    select
        touchpoints.source,
        touchpoints.source_record_id,
        touchpoints.occurred_at,
        touchpoints.channel,
        touchpoints.touchpoint_type,
        touchpoints.is_customer_action,
        touchpoints.order_id,
        resolved_records.customer_id,
        -- the natural keys of CRM profiles (customer_ref) and experiment
        -- assignments (customer_ref, loyalty id, email) are the person's own
        -- identifiers: a forgotten person's are replaced below
        coalesce(resolved_records.unresolved_reason = 'forgotten', false)
        and touchpoints.source in ('crm_customers', 'experiment_assignments')
            as is_redacted
    from touchpoints
    left join resolved_records on touchpoints.touchpoint_key = resolved_records.record_key
    {%- if is_incremental() %}
    where touchpoints.touchpoint_key in (select changed_keys.record_key from changed_keys)
    {%- endif %}

),

-- Numbered apart from the rest: a window over every touchpoint sorted the whole
-- table every night (107 s of a 1M-customer build) for a few redacted rows.
redacted_keys as (

    select
        source,
        source_record_id,
        'forgotten-' || row_number() over (
            partition by source
            order by occurred_at, source_record_id
        ) as published_record_id
    from resolved
    where is_redacted

),

keyed as (

    select
        resolved.*,
        coalesce(redacted_keys.published_record_id, resolved.source_record_id)
            as published_record_id
    from resolved
    left join redacted_keys
        on
            resolved.source = redacted_keys.source
            and resolved.source_record_id = redacted_keys.source_record_id

),

final as (

    select
        source || ':' || published_record_id as touchpoint_key,
        source,
        published_record_id as source_record_id,
        occurred_at,
        {{ to_reporting_date('occurred_at') }} as occurred_date,
        channel,
        touchpoint_type,
        is_customer_action,
        customer_id,
        order_id,
        {{ build_timestamp() }} as _changed_at
    from keyed

)

{{ replace_keys_batch('final', 'rewritten_rows') }}
