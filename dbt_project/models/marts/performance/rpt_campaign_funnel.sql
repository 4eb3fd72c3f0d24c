-- Campaign funnel per campaign and channel, with last-touch attributed revenue:
-- an order is credited to the campaign whose latest click by the same customer
-- came last before it, at most var attribution_window_days days before.
{%- set window_days = var('attribution_window_days') %}

with

campaign_events as (

    select * from {{ ref('stg_campaign__events') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}
    where source = 'campaign_events'

),

orders as (

    select * from {{ ref('fct_orders') }}

),

run_context as {{ not_materialized() }} (

    select * from {{ ref('int_run_context') }}

),

events as (

    select
        campaign_events.event_id,
        campaign_events.campaign_id,
        campaign_events.channel,
        campaign_events.event_type,
        campaign_events.occurred_at,
        touchpoints.customer_id
    from campaign_events
    left join touchpoints
        on campaign_events.event_id = touchpoints.source_record_id
    where
        {{ to_reporting_date('campaign_events.occurred_at') }}
        <= (select run_context.as_of_date from run_context)

),

latest_clicks as (

    select
        customer_id,
        campaign_id,
        channel,
        max(occurred_at) as clicked_at
    from events
    where event_type = 'click' and customer_id is not null
    group by all

),

attributed_orders as (

    -- last touch: of the campaigns whose latest click falls in the window before
    -- the order, the latest click wins; a tie goes to the smaller campaign, channel
    select
        latest_clicks.campaign_id,
        latest_clicks.channel,
        orders.order_key,
        orders.revenue_usd
    from orders
    inner join latest_clicks
        on
            orders.customer_id = latest_clicks.customer_id
            and orders.ordered_at > latest_clicks.clicked_at
            and orders.ordered_at
            <= latest_clicks.clicked_at + interval '{{ window_days }} days'
    where
        orders.is_purchase
        and orders.order_date <= (select run_context.as_of_date from run_context)
    qualify row_number() over (
        partition by orders.order_key
        order by
            latest_clicks.clicked_at desc,
            latest_clicks.campaign_id asc,
            latest_clicks.channel asc
    ) = 1

),

funnel as (

    select
        campaign_id,
        channel,
        count(*) filter (where event_type = 'sent') as sent_count,
        count(*) filter (where event_type = 'delivered') as delivered_count,
        count(*) filter (where event_type = 'open') as opened_count,
        count(*) filter (where event_type = 'click') as clicked_count,
        count(*) filter (where event_type = 'conversion') as converted_count,
        count(*) filter (where event_type = 'unsubscribe') as unsubscribe_count,
        count(*) filter (where event_type = 'bounce') as bounce_count,
        count(*) filter (where event_type = 'complaint') as complaint_count
    from events
    group by all

),

attribution as (

    select
        campaign_id,
        channel,
        count(*) as attributed_order_count,
        sum(revenue_usd) as attributed_revenue_usd
    from attributed_orders
    group by all

),

final as (

    select
        funnel.campaign_id,
        funnel.channel,
        funnel.sent_count,
        funnel.delivered_count,
        funnel.opened_count,
        funnel.clicked_count,
        funnel.converted_count,
        funnel.unsubscribe_count,
        funnel.bounce_count,
        funnel.complaint_count,
        coalesce(attribution.attributed_order_count, 0) as attributed_order_count,
        cast(coalesce(attribution.attributed_revenue_usd, 0) as decimal(18, 2))
            as attributed_revenue_usd,
        cast(round(funnel.delivered_count / nullif(funnel.sent_count, 0), 4) as decimal(8, 4))
            as delivery_rate,
        cast(round(funnel.opened_count / nullif(funnel.delivered_count, 0), 4) as decimal(8, 4))
            as open_rate,
        cast(round(funnel.clicked_count / nullif(funnel.delivered_count, 0), 4) as decimal(8, 4))
            as click_rate,
        cast(
            round(funnel.converted_count / nullif(funnel.delivered_count, 0), 4) as decimal(8, 4)
        ) as conversion_rate,
        cast(round(funnel.bounce_count / nullif(funnel.sent_count, 0), 4) as decimal(8, 4))
            as bounce_rate,
        cast(
            round(funnel.complaint_count / nullif(funnel.delivered_count, 0), 4) as decimal(8, 4)
        ) as complaint_rate
    from funnel
    left join attribution
        on
            funnel.campaign_id = attribution.campaign_id
            and funnel.channel = attribution.channel

)

select * from final
