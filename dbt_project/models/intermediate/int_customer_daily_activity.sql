-- depends_on: {{ ref('int_source_record_changes') }}
{{ config(
    materialized=stateful_materialization(),
    incremental_strategy='replace_keys',
    unique_key='customer_id',
) }}

-- What each customer did and bought each day: the compact state the churn
-- features and the RFM history read instead of every order, touchpoint, ticket,
-- survey answer and points posting. Each source is reduced to one row per
-- customer and day, then the rows of a day are merged. An incremental build
-- recomputes the customers whose records changed since the newest row it wrote
-- (every value is a function of the customer's own records) and removes those gone.
{%- set activity = {
    'customer_id': 'string',
    'activity_date': 'date',
    'purchase_orders': 'bigint',
    'web_purchase_orders': 'bigint',
    'app_purchase_orders': 'bigint',
    'store_purchase_orders': 'bigint',
    'net_revenue_usd': 'decimal(38, 2)',
    'touchpoints': 'bigint',
    'customer_actions': 'bigint',
    'web_sessions': 'bigint',
    'app_events': 'bigint',
    'campaign_opens': 'bigint',
    'campaign_clicks': 'bigint',
    'campaign_unsubscribes': 'bigint',
    'service_tickets': 'bigint',
    'complaint_tickets': 'bigint',
    'nps_score': 'bigint',
    'csat_score': 'bigint',
    'ledger_entries': 'bigint',
    'points_change': 'bigint',
    'points_redeemed': 'bigint',
    'redemptions': 'bigint',
} %}
with

{{ changed_customer_ctes() }}

orders as (

    select * from {{ ref('fct_orders') }}
    {{- of_changed_customers() }}

),

touchpoints as {{ not_materialized() }} (

    select * from {{ ref('fct_touchpoints') }}
    {{- of_changed_customers() }}

),

points_ledger as (

    select * from {{ ref('fct_points_ledger') }}
    {{- of_changed_customers() }}

),

service_tickets as (

    select * from {{ ref('stg_service__tickets') }}

),

survey_responses as (

    select * from {{ ref('stg_survey__responses') }}

),

order_days as (

    select
        customer_id,
        order_date as activity_date,
        count(*) filter (where is_purchase) as purchase_orders,
        count(*) filter (where is_purchase and channel = 'web') as web_purchase_orders,
        count(*) filter (where is_purchase and channel = 'app') as app_purchase_orders,
        count(*) filter (where is_purchase and channel = 'store') as store_purchase_orders,
        -- net: returns subtract, cancelled orders bring nothing (fct_orders)
        coalesce(sum(revenue_usd), 0) as net_revenue_usd
    from orders
    where customer_id is not null
    group by customer_id, order_date

),

touchpoint_days as (

    select
        customer_id,
        occurred_date as activity_date,
        count(*) as touchpoints,
        count(*) filter (where is_customer_action) as customer_actions,
        count(*) filter (where touchpoint_type = 'web_session') as web_sessions,
        count(*) filter (where source = 'app_events') as app_events,
        count(*) filter (
            where source = 'campaign_events' and touchpoint_type = channel || '_open'
        ) as campaign_opens,
        count(*) filter (
            where source = 'campaign_events' and touchpoint_type = channel || '_click'
        ) as campaign_clicks,
        count(*) filter (
            where source = 'campaign_events' and touchpoint_type = channel || '_unsubscribe'
        ) as campaign_unsubscribes
    from touchpoints
    where customer_id is not null
    group by customer_id, occurred_date

),

ticket_days as (

    -- the ticket's customer is its touchpoint's (same ticket id)
    select
        touchpoints.customer_id,
        touchpoints.occurred_date as activity_date,
        count(*) as service_tickets,
        count(*) filter (where service_tickets.category = 'complaint') as complaint_tickets
    from service_tickets
    inner join touchpoints
        on
            touchpoints.source = 'service_tickets'
            and service_tickets.ticket_id = touchpoints.source_record_id
    where touchpoints.customer_id is not null
    group by touchpoints.customer_id, touchpoints.occurred_date

),

survey_days as (

    -- the day's last NPS and CSAT answer (ties: the larger response id)
    select
        touchpoints.customer_id,
        touchpoints.occurred_date as activity_date,
        (max({{ struct_of({
            'responded_at': 'survey_responses.responded_at',
            'response_id': 'survey_responses.response_id',
            'score': 'survey_responses.score',
        }) }}) filter (where survey_responses.survey_type = 'nps')).score as nps_score,
        (max({{ struct_of({
            'responded_at': 'survey_responses.responded_at',
            'response_id': 'survey_responses.response_id',
            'score': 'survey_responses.score',
        }) }}) filter (where survey_responses.survey_type = 'csat')).score as csat_score
    from survey_responses
    inner join touchpoints
        on
            touchpoints.source = 'survey_responses'
            and survey_responses.response_id = touchpoints.source_record_id
    where touchpoints.customer_id is not null
    group by touchpoints.customer_id, touchpoints.occurred_date

),

ledger_days as (

    select
        customer_id,
        entry_date as activity_date,
        count(*) as ledger_entries,
        sum(signed_points) as points_change,
        coalesce(-sum(signed_points) filter (where entry_type = 'redeem'), 0) as points_redeemed,
        count(*) filter (where entry_type = 'redeem') as redemptions
    from points_ledger
    where customer_id is not null
    group by customer_id, entry_date

),

source_days as (

    select {{ shaped_columns(activity, [
        'customer_id', 'activity_date', 'purchase_orders', 'web_purchase_orders',
        'app_purchase_orders', 'store_purchase_orders', 'net_revenue_usd',
    ]) }}
    from order_days
    union all
    select {{ shaped_columns(activity, [
        'customer_id', 'activity_date', 'touchpoints', 'customer_actions', 'web_sessions',
        'app_events', 'campaign_opens', 'campaign_clicks', 'campaign_unsubscribes',
    ]) }}
    from touchpoint_days
    union all
    select {{ shaped_columns(activity, [
        'customer_id', 'activity_date', 'service_tickets', 'complaint_tickets',
    ]) }}
    from ticket_days
    union all
    select {{ shaped_columns(activity, [
        'customer_id', 'activity_date', 'nps_score', 'csat_score',
    ]) }}
    from survey_days
    union all
    select {{ shaped_columns(activity, [
        'customer_id', 'activity_date', 'ledger_entries', 'points_change', 'points_redeemed',
        'redemptions',
    ]) }}
    from ledger_days

),

final as (

    -- one row per customer and day; a count a day has none of is 0
    select
        customer_id,
        activity_date,
        coalesce(sum(purchase_orders), 0) as purchase_orders,
        coalesce(sum(web_purchase_orders), 0) as web_purchase_orders,
        coalesce(sum(app_purchase_orders), 0) as app_purchase_orders,
        coalesce(sum(store_purchase_orders), 0) as store_purchase_orders,
        sum(net_revenue_usd) as net_revenue_usd,
        coalesce(sum(touchpoints), 0) as touchpoints,
        coalesce(sum(customer_actions), 0) as customer_actions,
        coalesce(sum(web_sessions), 0) as web_sessions,
        coalesce(sum(app_events), 0) as app_events,
        coalesce(sum(campaign_opens), 0) as campaign_opens,
        coalesce(sum(campaign_clicks), 0) as campaign_clicks,
        coalesce(sum(campaign_unsubscribes), 0) as campaign_unsubscribes,
        coalesce(sum(service_tickets), 0) as service_tickets,
        coalesce(sum(complaint_tickets), 0) as complaint_tickets,
        max(nps_score) as nps_score,
        max(csat_score) as csat_score,
        coalesce(sum(ledger_entries), 0) as ledger_entries,
        sum(points_change) as points_change,
        coalesce(sum(points_redeemed), 0) as points_redeemed,
        coalesce(sum(redemptions), 0) as redemptions,
        {{ build_timestamp() }} as _changed_at
    from source_days
    group by customer_id, activity_date

)

{{ replace_keys_batch('final', 'rewritten_rows') }}
