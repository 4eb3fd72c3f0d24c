-- RFM of every customer as of the run's date: recency over the whole history,
-- frequency and monetary over the RFM window, scored 1-5 by quintile of the
-- customers who ever bought; then the named segment (rfm_segment_map seed) and
-- the value tier. Orders and actions after the as-of date are ignored, so a
-- rerun of a past date gives that date's answer.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

run_date as (

    -- the pipeline passes as_of_date; a bare dbt run falls back to the latest activity
    select
        {{ as_of_date("max(occurred_date)") }} as as_of_date
    from touchpoints

),

known_customers as (

    select
        customers.customer_id,
        customers.channel_profile,
        run_date.as_of_date
    from customers
    cross join run_date
    where {{ to_reporting_date('customers.first_seen_at') }} <= run_date.as_of_date

),

orders_to_date as (

    -- the customer's orders up to the as-of date, flagged when in the RFM window
    select
        orders.customer_id,
        orders.order_date,
        orders.is_purchase,
        orders.revenue_usd,
        orders.order_date
        > run_date.as_of_date - {{ var('rfm_window_days') }} as is_in_window
    from orders
    cross join run_date
    where orders.customer_id is not null and orders.order_date <= run_date.as_of_date

),

purchase_summary as (

    select
        customer_id,
        max(order_date) filter (where is_purchase) as last_purchase_date,
        count(distinct order_date) filter (where is_purchase and is_in_window)
            as frequency_days,
        coalesce(sum(revenue_usd) filter (where is_in_window), 0) as monetary_usd
    from orders_to_date
    group by customer_id

),

interaction_summary as (

    select
        touchpoints.customer_id,
        max(touchpoints.occurred_date) as last_interaction_date
    from touchpoints
    cross join run_date
    where
        touchpoints.customer_id is not null
        and touchpoints.is_customer_action
        and touchpoints.occurred_date <= run_date.as_of_date
    group by touchpoints.customer_id

),

measured as (

    select
        known_customers.customer_id,
        known_customers.as_of_date,
        known_customers.channel_profile,
        purchase_summary.last_purchase_date is not null as has_purchase,
        purchase_summary.last_purchase_date,
        known_customers.as_of_date - purchase_summary.last_purchase_date as recency_days,
        coalesce(purchase_summary.frequency_days, 0) as frequency_days,
        cast(coalesce(purchase_summary.monetary_usd, 0) as decimal(18, 2)) as monetary_usd,
        interaction_summary.last_interaction_date,
        known_customers.as_of_date - interaction_summary.last_interaction_date
            as days_since_last_interaction
    from known_customers
    left join purchase_summary
        on known_customers.customer_id = purchase_summary.customer_id
    left join interaction_summary
        on known_customers.customer_id = interaction_summary.customer_id

),

scored as (

    -- quintile of the tie group's first member: 1 + floor(5 x (rank - 1) / n),
    -- rank() ascending from worst to best, so equal values share one score
    select
        *,
        1 + floor(
            5 * (rank() over (order by recency_days desc) - 1)
            / count(*) over ()
        ) as r_score,
        1 + floor(
            5 * (rank() over (order by frequency_days asc) - 1)
            / count(*) over ()
        ) as f_score,
        1 + floor(
            5 * (rank() over (order by monetary_usd asc) - 1)
            / count(*) over ()
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
        on measured.customer_id = scored.customer_id
    left join segment_map
        on
            scored.r_score = segment_map.r_score
            and ceil((scored.f_score + scored.m_score) / 2) = segment_map.fm_score

)

select * from final
