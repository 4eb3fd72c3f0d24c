-- Monthly acquisition cohorts: customers by the month and channel of their first
-- purchase, followed month by month up to the as-of month.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

cohort_members as (

    select
        customer_id,
        cast(
            date_trunc('month', {{ to_reporting_date('first_purchase_at') }}) as date
        ) as cohort_month,
        first_purchase_channel as first_channel
    from customers
    where first_purchase_at is not null

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

calendar as (

    select * from {{ ref('dim_dates') }}

),

last_month as (

    -- the as-of month ends every cohort
    select cast(date_trunc('month', as_of_date) as date) as report_month
    from run_context

),

member_months as (

    select
        cohort_members.customer_id,
        cohort_members.cohort_month,
        cohort_members.first_channel,
        {{ datetime_diff(
            'month', 'cohort_members.cohort_month', "cast(date_trunc('month', orders.order_date) as date)"
        ) }} as months_since_first_purchase,
        count(*) filter (where orders.is_purchase) as purchase_count,
        coalesce(sum(orders.revenue_usd), 0) as revenue_usd
    from orders
    inner join cohort_members
        on orders.customer_id = cohort_members.customer_id
    where
        date_trunc('month', orders.order_date)
        <= (select last_month.report_month from last_month)
    group by all

),

repeat_months as (

    -- the month a member makes their second purchase
    select
        customer_id,
        cohort_month,
        first_channel,
        min(months_since_first_purchase) as repeat_month
    from (
        select
            customer_id,
            cohort_month,
            first_channel,
            months_since_first_purchase,
            sum(purchase_count) over (
                partition by customer_id order by months_since_first_purchase
            ) as cumulative_purchases
        from member_months
    ) as running_purchases
    where cumulative_purchases >= 2
    group by all

),

cohort_sizes as (

    select
        cohort_month,
        first_channel,
        count(*) as cohort_customers
    from cohort_members
    where cohort_month <= (select last_month.report_month from last_month)
    group by all

),

report_months as (

    select distinct calendar.month_start
    from calendar
    cross join last_month
    where calendar.month_start <= last_month.report_month

),

cohort_months as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.first_channel,
        cohort_sizes.cohort_customers,
        {{ datetime_diff('month', 'cohort_sizes.cohort_month', 'report_months.month_start') }}
            as months_since_first_purchase
    from cohort_sizes
    inner join report_months
        on cohort_sizes.cohort_month <= report_months.month_start

),

monthly_activity as (

    select
        cohort_month,
        first_channel,
        months_since_first_purchase,
        count(*) filter (where purchase_count > 0) as active_customers,
        sum(revenue_usd) as revenue_usd
    from member_months
    group by all

),

monthly_repeaters as (

    select
        cohort_month,
        first_channel,
        repeat_month as months_since_first_purchase,
        count(*) as new_repeat_customers
    from repeat_months
    group by all

),

final as (

    select
        cohort_months.cohort_month,
        cohort_months.months_since_first_purchase,
        cohort_months.first_channel,
        {{ plus_months('cohort_months.cohort_month', 'cohort_months.months_since_first_purchase') }}
            as activity_month,
        cohort_months.cohort_customers,
        coalesce(monthly_activity.active_customers, 0) as active_customers,
        cast(
            round(
                coalesce(monthly_activity.active_customers, 0) / cohort_months.cohort_customers,
                4
            ) as decimal(8, 4)
        ) as retention_rate,
        cast(coalesce(monthly_activity.revenue_usd, 0) as decimal(18, 2)) as revenue_usd,
        cast(
            round(
                sum(coalesce(monthly_activity.revenue_usd, 0)) over cohort_to_date
                / cohort_months.cohort_customers,
                2
            ) as decimal(18, 2)
        ) as cumulative_revenue_per_customer_usd,
        cast(
            sum(coalesce(monthly_repeaters.new_repeat_customers, 0)) over cohort_to_date
            as bigint
        ) as repeat_customers,
        cast(
            round(
                sum(coalesce(monthly_repeaters.new_repeat_customers, 0)) over cohort_to_date
                / cohort_months.cohort_customers,
                4
            ) as decimal(8, 4)
        ) as repeat_purchase_rate
    from cohort_months
    left join monthly_activity
        on
            cohort_months.cohort_month = monthly_activity.cohort_month
            and cohort_months.first_channel = monthly_activity.first_channel
            and cohort_months.months_since_first_purchase
            = monthly_activity.months_since_first_purchase
    left join monthly_repeaters
        on
            cohort_months.cohort_month = monthly_repeaters.cohort_month
            and cohort_months.first_channel = monthly_repeaters.first_channel
            and cohort_months.months_since_first_purchase
            = monthly_repeaters.months_since_first_purchase
    window cohort_to_date as (
        partition by cohort_months.cohort_month, cohort_months.first_channel
        order by cohort_months.months_since_first_purchase
    )

)

select * from final
