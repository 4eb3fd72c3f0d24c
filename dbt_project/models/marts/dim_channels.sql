-- The channel catalog as a BI dimension: every channel value of fct_orders,
-- fct_touchpoints, rpt_channel_daily and the campaign reports.
with

channel_catalog as (

    select * from {{ ref('channel_catalog') }}

),

final as (

    select
        channel,
        channel_group,
        is_online,
        channel_group = 'storefront' as is_storefront,
        description
    from channel_catalog

)

select * from final
