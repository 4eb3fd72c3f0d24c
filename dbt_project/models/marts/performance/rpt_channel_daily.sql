-- Daily storefront KPIs: traffic, orders, revenue, new vs returning buyers and
-- the paid spend charged to the storefront (seed spend_channel_map), up to the
-- run's as-of date. Every storefront has a row every day, zeros included.
with

orders as {{ not_materialized() }} (

    select * from {{ ref('fct_orders') }}

),

web_sessions as (

    select * from {{ ref('stg_web__sessions') }}

),

app_events as (

    select * from {{ ref('stg_app__events') }}

),

marketing_spend as (

    select * from {{ ref('stg_marketing__spend') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

calendar as (

    select * from {{ ref('dim_dates') }}

),

spend_channel_map as (

    select * from {{ ref('spend_channel_map') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

storefronts as (

    select channel from {{ ref('channel_catalog') }}
    where channel_group = 'storefront'

),

sessions as (

    -- a web session converts when it carries an order
    select
        {{ to_reporting_date('session_started_at') }} as activity_date,
        'web' as channel,
        count(*) as session_count,
        count(order_id) as converted_session_count
    from web_sessions
    group by all

    union all

    -- an app session is dated by its first event and converts with a purchase event
    select
        activity_date,
        'app' as channel,
        count(*) as session_count,
        count(*) filter (where has_purchase) as converted_session_count
    from (
        select
            session_id,
            {{ to_reporting_date('min(occurred_at)') }} as activity_date,
            bool_or(event_type = 'purchase') as has_purchase
        from app_events
        group by session_id
    )
    group by all

),

first_purchases as (

    select
        customer_id,
        min(order_date) as first_purchase_date
    from orders
    where is_purchase and customer_id is not null
    group by customer_id

),

daily_orders as (

    select
        orders.order_date as activity_date,
        orders.channel,
        count(*) filter (where orders.is_purchase) as order_count,
        count(*) filter (where orders.is_returned) as returned_order_count,
        sum(orders.revenue_usd) as revenue_usd,
        sum(orders.net_amount_usd) filter (where orders.is_purchase) as purchase_value_usd,
        count(distinct orders.customer_id) filter (
            where orders.is_purchase and first_purchases.first_purchase_date = orders.order_date
        ) as new_customer_count,
        count(distinct orders.customer_id) filter (
            where orders.is_purchase and first_purchases.first_purchase_date < orders.order_date
        ) as returning_customer_count
    from orders
    left join first_purchases
        on orders.customer_id = first_purchases.customer_id
    group by all

),

daily_spend as (

    -- spend in a currency without a rate is left out, counted in
    -- spend_rows_without_rate
    select
        marketing_spend.spend_date as activity_date,
        spend_channel_map.channel,
        sum(marketing_spend.spend_amount * currency_rates.rate_to_usd) as spend_usd,
        count(*) filter (where currency_rates.rate_to_usd is null) as spend_rows_without_rate
    from marketing_spend
    inner join spend_channel_map
        on marketing_spend.channel = spend_channel_map.spend_channel
    left join currency_rates
        on marketing_spend.currency = currency_rates.currency
    group by all

),

activity_dates as (

    select activity_date from sessions
    union all
    select activity_date from daily_orders
    union all
    select activity_date from daily_spend

),

day_channels as (

    -- every day from the first activity to the as-of date
    select
        calendar.date_day as activity_date,
        storefronts.channel
    from calendar
    cross join run_context
    cross join storefronts
    where
        calendar.date_day
        >= (select min(activity_dates.activity_date) as first_date from activity_dates)
        and calendar.date_day <= run_context.as_of_date

),

joined as (

    select
        day_channels.activity_date,
        day_channels.channel,
        coalesce(sessions.session_count, 0) as session_count,
        coalesce(sessions.converted_session_count, 0) as converted_session_count,
        coalesce(daily_orders.order_count, 0) as order_count,
        coalesce(daily_orders.returned_order_count, 0) as returned_order_count,
        coalesce(daily_orders.revenue_usd, 0) as revenue_usd,
        coalesce(daily_orders.purchase_value_usd, 0) as purchase_value_usd,
        coalesce(daily_orders.new_customer_count, 0) as new_customer_count,
        coalesce(daily_orders.returning_customer_count, 0) as returning_customer_count,
        coalesce(daily_spend.spend_usd, 0) as spend_usd,
        coalesce(daily_spend.spend_rows_without_rate, 0) as spend_rows_without_rate
    from day_channels
    left join sessions
        on
            day_channels.activity_date = sessions.activity_date
            and day_channels.channel = sessions.channel
    left join daily_orders
        on
            day_channels.activity_date = daily_orders.activity_date
            and day_channels.channel = daily_orders.channel
    left join daily_spend
        on
            day_channels.activity_date = daily_spend.activity_date
            and day_channels.channel = daily_spend.channel

),

final as (

    select
        activity_date,
        channel,
        session_count,
        converted_session_count,
        order_count,
        cast({{ round_ratio('converted_session_count', 'session_count', 4) }} as decimal(8, 4))
            as conversion_rate,
        cast(round(revenue_usd, 2) as decimal(18, 2)) as revenue_usd,
        cast({{ round_ratio('purchase_value_usd', 'order_count', 2) }} as decimal(18, 2))
            as average_order_value_usd,
        new_customer_count,
        returning_customer_count,
        cast(round(spend_usd, 2) as decimal(18, 2)) as spend_usd,
        spend_rows_without_rate,
        cast({{ round_ratio('spend_usd', 'new_customer_count', 2) }} as decimal(18, 2))
            as cac_usd,
        cast({{ round_ratio('revenue_usd', 'spend_usd', 4) }} as decimal(18, 4)) as roas,
        cast({{ round_ratio('revenue_usd - spend_usd', 'spend_usd', 4) }} as decimal(18, 4))
            as roi,
        returned_order_count,
        cast(round(returned_order_count / nullif(order_count, 0), 4) as decimal(8, 4))
            as return_rate
    from joined

)

select * from final
