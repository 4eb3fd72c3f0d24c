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

keyed as (

    select
        *,
        case
            when is_redacted
                then 'forgotten-' || row_number() over (
                    partition by source, is_redacted
                    order by occurred_at, source_record_id
                )
            else source_record_id
        end as published_record_id
    from resolved

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
