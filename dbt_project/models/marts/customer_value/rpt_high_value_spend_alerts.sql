-- Important-value customers whose monthly spend fell three months in a row up
-- to the as-of month: spend(m-3) > spend(m-2) > spend(m-1) > spend(m0), where
-- m0 is the month of the as-of date (to that date) and a month without orders
-- spends 0.
with

customer_rfm as (

    select * from {{ ref('customer_rfm') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

high_value_customers as (

    select
        customer_id,
        as_of_date,
        date_trunc('month', as_of_date) as as_of_month,
        channel_profile,
        rfm_segment,
        monetary_usd
    from customer_rfm
    where value_tier = 'important-value'

),

monthly_spend as (

    -- months back from the as-of month: 0 is the as-of month, 3 three months before
    select
        high_value_customers.customer_id,
        {{ datetime_diff(
            'month', "cast(date_trunc('month', orders.order_date) as date)",
            'high_value_customers.as_of_month'
        ) }} as months_back,
        sum(coalesce(orders.revenue_usd, 0)) as spend_usd
    from high_value_customers
    inner join orders
        on high_value_customers.customer_id = orders.customer_id
    where
        orders.order_date <= high_value_customers.as_of_date
        and orders.order_date >= high_value_customers.as_of_month - interval 3 month
    group by all

),

spend_by_month as (

    select
        high_value_customers.customer_id,
        high_value_customers.as_of_date,
        high_value_customers.channel_profile,
        high_value_customers.rfm_segment,
        high_value_customers.monetary_usd,
        cast(coalesce(sum(monthly_spend.spend_usd) filter (
            where monthly_spend.months_back = 3
        ), 0) as decimal(18, 2)) as spend_month_minus_3_usd,
        cast(coalesce(sum(monthly_spend.spend_usd) filter (
            where monthly_spend.months_back = 2
        ), 0) as decimal(18, 2)) as spend_month_minus_2_usd,
        cast(coalesce(sum(monthly_spend.spend_usd) filter (
            where monthly_spend.months_back = 1
        ), 0) as decimal(18, 2)) as spend_month_minus_1_usd,
        cast(coalesce(sum(monthly_spend.spend_usd) filter (
            where monthly_spend.months_back = 0
        ), 0) as decimal(18, 2)) as spend_as_of_month_usd
    from high_value_customers
    left join monthly_spend
        on high_value_customers.customer_id = monthly_spend.customer_id
    group by all

),

final as (

    select
        *,
        cast(spend_as_of_month_usd - spend_month_minus_3_usd as decimal(18, 2))
            as spend_change_usd
    from spend_by_month
    where
        spend_month_minus_3_usd > spend_month_minus_2_usd
        and spend_month_minus_2_usd > spend_month_minus_1_usd
        and spend_month_minus_1_usd > spend_as_of_month_usd

)

select * from final
