with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

final as (

    select
        touchpoint_key,
        source,
        source_record_id,
        occurred_at,
        {{ to_reporting_date('occurred_at') }} as occurred_date,
        channel,
        touchpoint_type,
        customer_id,
        order_id
    from touchpoints

)

select * from final
