with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

resolved_records as (

    select * from {{ ref('int_source_records_resolved') }}

),

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
    left join resolved_records
        on
            touchpoints.source = resolved_records.source
            and touchpoints.source_record_id = resolved_records.source_record_id

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
        order_id
    from keyed

)

select * from final
