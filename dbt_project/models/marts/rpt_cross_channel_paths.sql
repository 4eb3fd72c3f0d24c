-- The channel paths customers take to their first purchase: the channels of
-- their actions up to and including the first purchase, consecutive repeats
-- collapsed ('email > email > web > store' is 'email > web > store'), so the
-- last step is the channel they converted in.
with

journeys as {{ not_materialized() }} (

    select * from {{ ref('fct_customer_journeys') }}

),

buyer_journeys as (

    -- the actions of customers who bought, up to and including the first purchase
    select
        customer_id,
        touchpoint_sequence,
        occurred_at,
        channel,
        previous_channel,
        is_channel_switch
    from journeys
    where
        (is_before_first_purchase or is_first_purchase)
        and customer_id in (
            select buyers.customer_id
            from journeys as buyers
            where buyers.is_first_purchase
        )

),

customer_paths as (

    -- a step wherever the channel changes
    select
        customer_id,
        {{ string_agg_ordered('channel', "' > '", 'touchpoint_sequence') }} as conversion_path,
        max_by(channel, touchpoint_sequence) as conversion_channel,
        count(*) as step_count,
        count(distinct channel) as distinct_channel_count
    from buyer_journeys
    where previous_channel is null or is_channel_switch
    group by customer_id

),

days_to_convert as (

    select
        customer_id,
        {{ datetime_diff('second', 'min(occurred_at)', 'max(occurred_at)') }} / 86400.0
            as days_to_convert
    from buyer_journeys
    group by customer_id

),

final as (

    select
        customer_paths.conversion_path,
        any_value(customer_paths.conversion_channel) as conversion_channel,
        any_value(customer_paths.step_count) as step_count,
        any_value(customer_paths.distinct_channel_count) as distinct_channel_count,
        any_value(customer_paths.distinct_channel_count) > 1 as is_cross_channel,
        count(*) as customer_count,
        cast(round(count(*) / sum(count(*)) over (), 4) as decimal(6, 4)) as customer_share,
        cast(round(median(days_to_convert.days_to_convert), 2) as decimal(10, 2))
            as median_days_to_convert,
        cast(row_number() over (
            order by count(*) desc, customer_paths.conversion_path asc
        ) as bigint) as path_rank
    from customer_paths
    inner join days_to_convert
        on customer_paths.customer_id = days_to_convert.customer_id
    group by customer_paths.conversion_path

)

select * from final
