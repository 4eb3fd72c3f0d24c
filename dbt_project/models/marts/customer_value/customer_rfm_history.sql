-- RFM of every customer at each snapshot date - the run's as-of date and the
-- last day of each of the rfm_history_months months before it: recency over
-- the whole history, frequency and monetary over the RFM window, scored 1-5 by
-- quintile of the customers who had bought by then; then the named segment
-- (rfm_segment_map seed) and the value tier. Each snapshot is computed from the
-- facts as they are now, ignoring orders and actions after it, so nightly runs
-- and a full rebuild give the same history (a late or corrected order restates
-- the snapshots it falls in).
with

customers as (

    select * from {{ ref('int_customers_aggregated') }}

),

daily_activity as {{ not_materialized() }} (

    select * from {{ ref('int_customer_daily_activity') }}

),

segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

run_context as {{ not_materialized() }} (

    select * from {{ ref('int_run_context') }}

),

snapshot_dates as (

    select run_context.as_of_date
    from run_context

    union

    -- month ends: the day before the first of the month, n months back
    select
        {{ plus_months(
            "cast(date_trunc('month', run_context.as_of_date) as date)", '-months_back.n'
        ) }} - 1 as as_of_date
    from run_context
    cross join range({{ var('rfm_history_months') }}) as months_back (n)

),

known_customers as (

    select
        customers.customer_id,
        customers.channel_profile,
        snapshot_dates.as_of_date
    from customers
    inner join snapshot_dates
        on {{ to_reporting_date('customers.first_seen_at') }} <= snapshot_dates.as_of_date

),

order_days_to_date as (

    -- each customer's order days up to each snapshot (a day with an order has a net
    -- revenue), flagged when in its RFM window
    select
        daily_activity.customer_id,
        snapshot_dates.as_of_date,
        daily_activity.activity_date,
        daily_activity.purchase_orders,
        daily_activity.net_revenue_usd,
        daily_activity.activity_date
        > snapshot_dates.as_of_date - {{ var('rfm_window_days') }} as is_in_window
    from daily_activity
    inner join snapshot_dates
        on daily_activity.activity_date <= snapshot_dates.as_of_date
    where daily_activity.net_revenue_usd is not null

),

purchase_summary as (

    select
        customer_id,
        as_of_date,
        max(activity_date) filter (where purchase_orders > 0) as last_purchase_date,
        count(*) filter (where purchase_orders > 0 and is_in_window) as frequency_days,
        coalesce(sum(net_revenue_usd) filter (where is_in_window), 0) as monetary_usd
    from order_days_to_date
    group by customer_id, as_of_date

),

first_snapshot as (

    select min(as_of_date) as as_of_date
    from snapshot_dates

),

action_periods as (

    -- each customer action counted at the first snapshot on or after it (one row
    -- per customer and snapshot period, instead of one per action and snapshot);
    -- actions after the as-of date count nowhere
    select
        daily_activity.customer_id,
        greatest(
            least(last_day(daily_activity.activity_date), run_context.as_of_date),
            first_snapshot.as_of_date
        ) as period_end_date,
        max(daily_activity.activity_date) as last_interaction_date
    from daily_activity
    cross join run_context
    cross join first_snapshot
    where
        daily_activity.customer_actions > 0
        and daily_activity.activity_date <= run_context.as_of_date
    group by daily_activity.customer_id, period_end_date

),

interaction_summary as (

    -- the latest action up to each snapshot: a running max over the periods
    select
        known_customers.customer_id,
        known_customers.as_of_date,
        max(action_periods.last_interaction_date) over (
            partition by known_customers.customer_id
            order by known_customers.as_of_date
            rows between unbounded preceding and current row
        ) as last_interaction_date
    from known_customers
    left join action_periods
        on
            known_customers.customer_id = action_periods.customer_id
            and known_customers.as_of_date = action_periods.period_end_date

),

measured as (

    select
        known_customers.customer_id,
        known_customers.as_of_date,
        known_customers.channel_profile,
        purchase_summary.last_purchase_date is not null as has_purchase,
        purchase_summary.last_purchase_date,
        cast(known_customers.as_of_date - purchase_summary.last_purchase_date as bigint)
            as recency_days,
        coalesce(purchase_summary.frequency_days, 0) as frequency_days,
        cast(coalesce(purchase_summary.monetary_usd, 0) as decimal(18, 2)) as monetary_usd,
        interaction_summary.last_interaction_date,
        cast(known_customers.as_of_date - interaction_summary.last_interaction_date as bigint)
            as days_since_last_interaction
    from known_customers
    left join purchase_summary
        on
            known_customers.customer_id = purchase_summary.customer_id
            and known_customers.as_of_date = purchase_summary.as_of_date
    left join interaction_summary
        on
            known_customers.customer_id = interaction_summary.customer_id
            and known_customers.as_of_date = interaction_summary.as_of_date

),

scored as (

    -- quintile of the tie group's first member: 1 + floor(5 x (rank - 1) / n),
    -- rank() ascending from worst to best, so equal values share one score;
    -- the buyers of each snapshot are ranked among themselves
    select
        *,
        1 + floor(
            5 * (rank() over (partition by as_of_date order by recency_days desc) - 1)
            / count(*) over (partition by as_of_date)
        ) as r_score,
        1 + floor(
            5 * (rank() over (partition by as_of_date order by frequency_days asc) - 1)
            / count(*) over (partition by as_of_date)
        ) as f_score,
        1 + floor(
            5 * (rank() over (partition by as_of_date order by monetary_usd asc) - 1)
            / count(*) over (partition by as_of_date)
        ) as m_score
    from measured
    where has_purchase

),

final as (

    select
        measured.customer_id,
        measured.as_of_date,
        measured.channel_profile,
        measured.has_purchase,
        measured.last_purchase_date,
        measured.recency_days,
        measured.frequency_days,
        measured.monetary_usd,
        measured.last_interaction_date,
        measured.days_since_last_interaction,
        cast(scored.r_score as integer) as r_score,
        cast(scored.f_score as integer) as f_score,
        cast(scored.m_score as integer) as m_score,
        cast(ceil((scored.f_score + scored.m_score) / 2) as integer) as fm_score,
        cast(scored.r_score as integer)
        || cast(scored.f_score as integer)
        || cast(scored.m_score as integer) as rfm_cell,
        segment_map.rfm_segment,
        case
            when
                coalesce(
                    measured.days_since_last_interaction
                    >= {{ var('churn_risk_days') }},
                    true
                )
                then 'churn-risk'
            when scored.r_score >= 3 and scored.f_score >= 3 and scored.m_score >= 4
                then 'important-value'
            when scored.r_score >= 3 then 'potential-value'
            else 'general-value'
        end as value_tier
    from measured
    left join scored
        on
            measured.customer_id = scored.customer_id
            and measured.as_of_date = scored.as_of_date
    left join segment_map
        on
            scored.r_score = segment_map.r_score
            and ceil((scored.f_score + scored.m_score) / 2) = segment_map.fm_score

)

select * from final
