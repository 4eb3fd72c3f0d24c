-- Point-in-time churn features and label of every buyer at every snapshot date
-- (the population and snapshots of customer_purchase_summaries), from what each
-- customer did each day (int_customer_daily_activity): the features aggregate the
-- days on or before the snapshot date only, and the label (future_purchases)
-- is the one place that looks past it.
{%- set horizon_days = int_var('churn_horizon_days') %}

with

summaries as {{ not_materialized() }} (

    select * from {{ ref('customer_purchase_summaries') }}

),

daily_activity as {{ not_materialized() }} (

    select * from {{ ref('int_customer_daily_activity') }}

),

loyalty_tiers as (

    select * from {{ ref('loyalty_tiers') }}

),

tier_bounds as (

    {{ loyalty_tier_bounds('loyalty_tiers') }}

),

known_activity as (

    -- everything up to the snapshot date, nothing after it; days_back = 0 on the
    -- snapshot date, so an N-day window is days_back < N
    select
        daily_activity.*,
        summaries.snapshot_date,
        {{ datetime_diff('day', 'daily_activity.activity_date', 'summaries.snapshot_date') }}
            as days_back
    from summaries
    inner join daily_activity
        on
            summaries.customer_id = daily_activity.customer_id
            and summaries.snapshot_date >= daily_activity.activity_date

),

history as (

    select
        customer_id,
        snapshot_date,
        min(activity_date) as first_seen_date,
        max(activity_date) filter (where customer_actions > 0) as last_interaction_date,
        sum(purchase_orders) as purchase_orders,
        sum(web_purchase_orders) as web_purchase_orders,
        sum(app_purchase_orders) as app_purchase_orders,
        sum(store_purchase_orders) as store_purchase_orders,
        count(*) filter (where purchase_orders > 0 and days_back < 365) as purchase_days_365d,
        sum(net_revenue_usd) filter (where days_back < 365) as net_revenue_365d_usd,
        -- the loyalty program's 12-month spend (rpt_loyalty_tier_history)
        sum(net_revenue_usd) filter (
            where snapshot_date < activity_date + interval 12 month
        ) as spend_12m_usd,
        sum(web_sessions) filter (where days_back < 30) as web_sessions_30d,
        sum(web_sessions) filter (where days_back between 30 and 89) as web_sessions_prior_60d,
        sum(app_events) filter (where days_back < 30) as app_events_30d,
        sum(app_events) filter (where days_back between 30 and 89) as app_events_prior_60d,
        sum(campaign_opens) filter (where days_back < 90) as campaign_opens_90d,
        sum(campaign_clicks) filter (where days_back < 90) as campaign_clicks_90d,
        sum(campaign_unsubscribes) filter (where days_back < 90) as campaign_unsubscribes_90d,
        sum(service_tickets) filter (where days_back < 180) as service_tickets_180d,
        sum(complaint_tickets) filter (where days_back < 180) as complaint_tickets_180d,
        max_by(nps_score, activity_date) filter (
            where nps_score is not null
        ) as latest_nps_score,
        max_by(csat_score, activity_date) filter (
            where csat_score is not null
        ) as latest_csat_score,
        sum(ledger_entries) as ledger_entries,
        sum(points_change) as points_balance,
        sum(points_redeemed) filter (where days_back < 365) as points_redeemed_365d,
        sum(redemptions) filter (where days_back < 365) as redemptions_365d
    from known_activity
    group by customer_id, snapshot_date

),

future_purchases as (

    -- the label's window (snapshot date, snapshot date + H]: the only look ahead
    select
        summaries.customer_id,
        summaries.snapshot_date
    from summaries
    inner join daily_activity
        on
            summaries.customer_id = daily_activity.customer_id
            and summaries.snapshot_date < daily_activity.activity_date
            and summaries.snapshot_date + {{ horizon_days }}
            >= daily_activity.activity_date
            and daily_activity.purchase_orders > 0
    group by summaries.customer_id, summaries.snapshot_date

),

final as (

    select
        summaries.customer_id,
        summaries.snapshot_date,
        summaries.snapshot_role,
        {{ horizon_days }} as horizon_days,
        cast(case
            when summaries.snapshot_role = 'scoring' then null
            when future_purchases.customer_id is null then 1
            else 0
        end as integer) as is_churned,
        cast(summaries.snapshot_date - summaries.last_purchase_date as integer)
            as days_since_last_purchase,
        cast(history.purchase_days_365d as integer) as purchase_days_365d,
        cast(coalesce(history.net_revenue_365d_usd, 0) as decimal(18, 2))
            as net_revenue_365d_usd,
        cast(summaries.snapshot_date - history.first_seen_date as integer) as tenure_days,
        cast(history.web_purchase_orders / history.purchase_orders as double)
            as web_purchase_share,
        cast(history.app_purchase_orders / history.purchase_orders as double)
            as app_purchase_share,
        cast(history.store_purchase_orders / history.purchase_orders as double)
            as store_purchase_share,
        cast(coalesce(history.web_sessions_30d, 0) as integer) as web_sessions_30d,
        cast(coalesce(history.web_sessions_prior_60d, 0) as integer) as web_sessions_prior_60d,
        coalesce(history.web_sessions_30d, 0)
        - coalesce(history.web_sessions_prior_60d, 0) / 2.0 as web_sessions_trend,
        cast(coalesce(history.app_events_30d, 0) as integer) as app_events_30d,
        cast(coalesce(history.app_events_prior_60d, 0) as integer) as app_events_prior_60d,
        coalesce(history.app_events_30d, 0)
        - coalesce(history.app_events_prior_60d, 0) / 2.0 as app_events_trend,
        cast(coalesce(history.campaign_opens_90d, 0) as integer) as campaign_opens_90d,
        cast(coalesce(history.campaign_clicks_90d, 0) as integer) as campaign_clicks_90d,
        cast(coalesce(history.campaign_unsubscribes_90d, 0) as integer)
            as campaign_unsubscribes_90d,
        cast(coalesce(history.service_tickets_180d, 0) as integer) as service_tickets_180d,
        cast(coalesce(history.complaint_tickets_180d, 0) as integer) as complaint_tickets_180d,
        cast(history.latest_nps_score as integer) as latest_nps_score,
        cast(history.latest_csat_score as integer) as latest_csat_score,
        cast(coalesce(history.ledger_entries, 0) > 0 as integer) as is_loyalty_member,
        cast(coalesce(history.points_balance, 0) as bigint) as points_balance,
        cast(coalesce(history.points_redeemed_365d, 0) as bigint) as points_redeemed_365d,
        cast(coalesce(history.redemptions_365d, 0) as integer) as redemptions_365d,
        case
            when coalesce(history.ledger_entries, 0) > 0 then tier_bounds.tier_rank else 0
        end as loyalty_tier_rank,
        cast(summaries.snapshot_date - history.last_interaction_date as integer)
            as days_since_last_interaction
    from summaries
    left join history
        on
            summaries.customer_id = history.customer_id
            and summaries.snapshot_date = history.snapshot_date
    inner join tier_bounds
        on {{ spend_in_tier('coalesce(history.spend_12m_usd, 0)', 'tier_bounds') }}
    left join future_purchases
        on
            summaries.customer_id = future_purchases.customer_id
            and summaries.snapshot_date = future_purchases.snapshot_date

)

select * from final
