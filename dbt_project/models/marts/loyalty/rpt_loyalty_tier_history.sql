with

customers as (

    select * from {{ ref('dim_customers') }}

),

orders as {{ not_materialized() }} (

    select * from {{ ref('fct_orders') }}

),

tiers as (

    select * from {{ ref('loyalty_tiers') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

calendar as (

    select * from {{ ref('dim_dates') }}

),

period_ends as (

    -- every month end from the first order's month on; the as-of date closes
    -- the last (possibly partial) month
    select distinct least(last_day(calendar.month_start), run_context.as_of_date) as period_end
    from calendar
    cross join run_context
    where
        calendar.date_day >= (select min(orders.order_date) as first_order_date from orders)
        and calendar.date_day <= run_context.as_of_date

),

members as (

    select
        customer_id,
        loyalty_id
    from customers
    where loyalty_id is not null

),

member_periods as (

    select
        members.customer_id,
        members.loyalty_id,
        period_ends.period_end
    from members
    cross join period_ends

),

spend as (

    -- net revenue of the 12 months ending on the period end (range join)
    select
        member_periods.customer_id,
        member_periods.period_end,
        coalesce(sum(orders.revenue_usd), 0) as spend_12m_usd
    from member_periods
    left join orders
        on
            member_periods.customer_id = orders.customer_id
            and member_periods.period_end < orders.order_date + interval 12 month
            and member_periods.period_end >= orders.order_date
    group by member_periods.customer_id, member_periods.period_end

),

tier_bounds as (

    {{ loyalty_tier_bounds('tiers') }}

),

tiered as (

    select
        member_periods.customer_id,
        member_periods.loyalty_id,
        member_periods.period_end,
        spend.spend_12m_usd,
        tier_bounds.tier,
        tier_bounds.tier_rank
    from member_periods
    inner join spend
        on
            member_periods.customer_id = spend.customer_id
            and member_periods.period_end = spend.period_end
    inner join tier_bounds
        on {{ spend_in_tier('spend.spend_12m_usd', 'tier_bounds') }}

),

changes as (

    select
        *,
        lag(tier) over (partition by customer_id order by period_end) as previous_tier,
        lag(tier_rank) over (partition by customer_id order by period_end) as previous_tier_rank
    from tiered

),

final as (

    select
        customer_id,
        loyalty_id,
        period_end,
        cast(spend_12m_usd as decimal(18, 2)) as spend_12m_usd,
        tier,
        tier_rank,
        previous_tier,
        coalesce(tier <> previous_tier, false) as is_tier_change,
        case
            when previous_tier_rank is null then 'initial'
            when tier_rank > previous_tier_rank then 'upgrade'
            when tier_rank < previous_tier_rank then 'downgrade'
            else 'unchanged'
        end as tier_change
    from changes

)

select * from final
