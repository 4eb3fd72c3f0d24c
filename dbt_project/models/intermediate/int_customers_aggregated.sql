-- depends_on: {{ ref('int_source_record_changes') }}
{{ config(
    materialized=stateful_materialization(),
    incremental_strategy='replace_keys',
    unique_key='customer_id',
) }}

-- One row per resolved customer: the golden-record profile
-- (int_customer_profiles_survived) with what the facts say about them - all of
-- dim_customers but the models' scores, which change every night for everyone. A
-- forgotten customer has no row. An incremental build recomputes the customers
-- whose records changed since the newest row it wrote, and removes those gone.
{%- set first_order = struct_of({
    'ordered_at': 'orders.ordered_at', 'order_key': 'orders.order_key'
}) %}
with

{{ changed_customer_ctes() }}

touchpoints as {{ not_materialized() }} (

    select * from {{ ref('fct_touchpoints') }}
    {{- of_changed_customers() }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    {{- of_changed_customers() }}

),

profiles as (

    select * from {{ ref('int_customer_profiles_survived') }}
    {{- of_changed_customers() }}

),

forgotten_customers as (

    select * from {{ ref('int_customers_forgotten') }}

),

channel_catalog as {{ not_materialized() }} (

    select * from {{ ref('channel_catalog') }}

),

loyalty_ledger_entries as (

    select * from {{ ref('stg_loyalty__ledger_entries') }}

),

survey_responses as (

    select * from {{ ref('stg_survey__responses') }}

),

service_tickets as (

    select * from {{ ref('stg_service__tickets') }}

),

active_customers as (

    select distinct touchpoints.customer_id
    from touchpoints
    where
        touchpoints.customer_id is not null
        and touchpoints.customer_id not in (
            select forgotten_customers.customer_id from forgotten_customers
        )

),

touchpoint_summary as (

    select
        customer_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as touchpoint_count,
        {{ string_agg_ordered('channel', "', '", distinct=true, where='is_customer_action') }}
            as channels_used
    from touchpoints
    where customer_id is not null
    group by customer_id

),

channel_activity as (

    select
        customer_id,
        channel,
        count(*) as action_count,
        max(occurred_at) as last_action_at
    from touchpoints
    where customer_id is not null and is_customer_action
    group by customer_id, channel

),

preferred_channels as (

    -- most actions; a tie goes to the channel used last, then to the first name
    select
        customer_id,
        channel as preferred_channel
    from channel_activity
    qualify row_number() over (
        partition by customer_id
        order by action_count desc, last_action_at desc, channel asc
    ) = 1

),

order_summary as (

    select
        orders.customer_id,
        min(orders.ordered_at) filter (where orders.is_purchase) as first_purchase_at,
        max(orders.ordered_at) filter (where orders.is_purchase) as last_purchase_at,
        min_by(orders.order_key, {{ first_order }})
        filter (where orders.is_purchase) as first_purchase_order_key,
        min_by(orders.channel, {{ first_order }})
        filter (where orders.is_purchase) as first_purchase_channel,
        count(*) filter (where orders.is_purchase) as lifetime_orders,
        count(*) filter (where orders.is_purchase and channel_catalog.is_online)
            as online_orders,
        count(*) filter (where orders.is_purchase and not channel_catalog.is_online)
            as store_orders,
        sum(orders.revenue_usd) as lifetime_revenue_usd
    from orders
    left join channel_catalog
        on orders.channel = channel_catalog.channel
    where orders.customer_id is not null
    group by orders.customer_id

),

online_before_store as (

    -- the latest web or app action (an online storefront of channel_catalog)
    -- before each store purchase of the customer
    select
        touchpoints.customer_id,
        touchpoints.touchpoint_type,
        touchpoints.occurred_at,
        max(
            case
                when channel_catalog.channel_group = 'storefront' and channel_catalog.is_online
                    then touchpoints.occurred_at
            end
        ) over (
            partition by touchpoints.customer_id
            order by touchpoints.occurred_at, touchpoints.touchpoint_key
            rows between unbounded preceding and 1 preceding
        ) as last_online_action_at
    from touchpoints
    left join channel_catalog
        on touchpoints.channel = channel_catalog.channel
    where touchpoints.customer_id is not null and touchpoints.is_customer_action

),

o2o_summary as (

    select
        customer_id,
        count(*) as online_to_store_purchases
    from online_before_store
    where
        touchpoint_type = 'pos_sale'
        and last_online_action_at
        >= {{ plus_days('occurred_at', -var('o2o_window_days')) }}
    group by customer_id

),

loyalty_summary as (

    select
        touchpoints.customer_id,
        sum(loyalty_ledger_entries.points) as loyalty_points_balance
    from touchpoints
    inner join loyalty_ledger_entries
        on
            touchpoints.source = 'loyalty_ledger'
            and touchpoints.source_record_id = loyalty_ledger_entries.entry_id
    where touchpoints.customer_id is not null
    group by touchpoints.customer_id

),

survey_summary as (

    select
        touchpoints.customer_id,
        max_by(
            survey_responses.score,
            {{ struct_of({
                'responded_at': 'survey_responses.responded_at',
                'response_id': 'survey_responses.response_id',
            }) }}
        ) filter (where survey_responses.survey_type = 'nps') as latest_nps_score,
        max_by(
            survey_responses.score,
            {{ struct_of({
                'responded_at': 'survey_responses.responded_at',
                'response_id': 'survey_responses.response_id',
            }) }}
        ) filter (where survey_responses.survey_type = 'csat') as latest_csat_score
    from touchpoints
    inner join survey_responses
        on
            touchpoints.source = 'survey_responses'
            and touchpoints.source_record_id = survey_responses.response_id
    where touchpoints.customer_id is not null
    group by touchpoints.customer_id

),

ticket_summary as (

    select
        touchpoints.customer_id,
        count(*) filter (
            where service_tickets.status in ('open', 'pending')
        ) as open_ticket_count
    from touchpoints
    inner join service_tickets
        on
            touchpoints.source = 'service_tickets'
            and touchpoints.source_record_id = service_tickets.ticket_id
    where touchpoints.customer_id is not null
    group by touchpoints.customer_id

),

final as (

    select
        active_customers.customer_id,
        profiles.first_name,
        profiles.last_name,
        profiles.email,
        profiles.phone,
        profiles.city,
        profiles.country_code,
        profiles.birth_date,
        profiles.gender,
        profiles.signup_date,
        profiles.has_marketing_consent,
        touchpoint_summary.first_seen_at,
        touchpoint_summary.last_seen_at,
        order_summary.first_purchase_at,
        order_summary.last_purchase_at,
        order_summary.first_purchase_order_key,
        order_summary.first_purchase_channel,
        touchpoint_summary.channels_used,
        preferred_channels.preferred_channel,
        case
            when coalesce(order_summary.lifetime_orders, 0) = 0 then 'no_purchase'
            when order_summary.online_orders > 0 and order_summary.store_orders > 0
                then 'omnichannel'
            when order_summary.store_orders > 0 then 'store_only'
            else 'online_only'
        end as channel_profile,
        coalesce(o2o_summary.online_to_store_purchases, 0) as online_to_store_purchases,
        touchpoint_summary.touchpoint_count,
        coalesce(order_summary.lifetime_orders, 0) as lifetime_orders,
        coalesce(order_summary.lifetime_revenue_usd, 0) as lifetime_revenue_usd,
        profiles.loyalty_id,
        -- a member without ledger entries has 0 points; a non-member none
        coalesce(
            loyalty_summary.loyalty_points_balance,
            case when profiles.loyalty_id is not null then 0 end
        ) as loyalty_points_balance,
        survey_summary.latest_nps_score,
        survey_summary.latest_csat_score,
        coalesce(ticket_summary.open_ticket_count, 0) as open_ticket_count,
        {{ build_timestamp() }} as _changed_at
    from active_customers
    left join profiles
        on active_customers.customer_id = profiles.customer_id
    left join touchpoint_summary
        on active_customers.customer_id = touchpoint_summary.customer_id
    left join preferred_channels
        on active_customers.customer_id = preferred_channels.customer_id
    left join order_summary
        on active_customers.customer_id = order_summary.customer_id
    left join o2o_summary
        on active_customers.customer_id = o2o_summary.customer_id
    left join loyalty_summary
        on active_customers.customer_id = loyalty_summary.customer_id
    left join survey_summary
        on active_customers.customer_id = survey_summary.customer_id
    left join ticket_summary
        on active_customers.customer_id = ticket_summary.customer_id

)

{{ replace_keys_batch('final', 'rewritten_rows') }}
