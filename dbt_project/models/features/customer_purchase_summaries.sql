-- The BG/NBD and Gamma-Gamma summary of every buyer at every churn snapshot
-- date, in one aggregate over purchase days x snapshots: orders are first
-- merged into purchase days, then each snapshot sees only the days on or
-- before it.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

snapshots as (

    {{ churn_snapshot_dates('run_context') }}

),

purchase_days as (

    -- one row per customer and purchase day (same-day orders are one
    -- purchase); anonymous and forgotten customers' orders have no customer
    select
        customer_id,
        order_date as purchase_date,
        coalesce(sum(revenue_usd), 0) as day_revenue_usd,
        sum(item_count) as day_items
    from orders
    where customer_id is not null and is_purchase
    group by customer_id, order_date

),

flagged_days as (

    -- a customer's first purchase day is the same at every snapshot that sees it
    select
        *,
        purchase_date = min(purchase_date) over (partition by customer_id)
            as is_first_purchase_day
    from purchase_days

),

summarised as (

    select
        flagged_days.customer_id,
        snapshots.snapshot_date,
        snapshots.snapshot_role,
        min(flagged_days.purchase_date) as first_purchase_date,
        max(flagged_days.purchase_date) as last_purchase_date,
        count(*) - 1 as frequency,
        sum(flagged_days.day_revenue_usd) filter (
            where not flagged_days.is_first_purchase_day
        ) as repeat_revenue_usd,
        avg(flagged_days.day_items) as items_per_purchase_day
    from flagged_days
    inner join snapshots
        on flagged_days.purchase_date <= snapshots.snapshot_date
    group by flagged_days.customer_id, snapshots.snapshot_date, snapshots.snapshot_role

),

final as (

    select
        customer_id,
        snapshot_date,
        snapshot_role,
        first_purchase_date,
        last_purchase_date,
        cast(frequency as integer) as frequency,
        cast(last_purchase_date - first_purchase_date as integer) as recency_days,
        cast(snapshot_date - first_purchase_date as integer) as t_days,
        case
            when frequency > 0 then cast(repeat_revenue_usd as double) / frequency
            else 0
        end as monetary_value,
        items_per_purchase_day
    from summarised

)

select * from final
