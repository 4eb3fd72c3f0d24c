-- Revenue in fct_orders, per currency, equals the contract's definition
-- computed independently from staging: net_amount of web/app orders neither
-- cancelled nor returned, plus POS sales, minus POS returns. In USD the total
-- may differ from the converted total by at most half a cent per order
-- (fct_orders rounds each order). Returns the currencies that disagree.
-- Dagster shows it as a check of fct_orders, the model it guards.
{{ config(meta={'dagster': {'ref': {'name': 'fct_orders'}}}) }}

with

web_orders as (

    select * from {{ ref('stg_web__orders') }}

),

pos_transactions as (

    select * from {{ ref('stg_pos__transactions') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

contract_revenue as (

    select
        currency,
        case
            when status not in ('cancelled', 'returned') then net_amount
            else 0
        end as revenue
    from web_orders

    union all

    select
        currency,
        case
            when txn_type = 'sale' then net_amount
            when txn_type = 'return' then -abs(net_amount)
        end as revenue
    from pos_transactions

),

expected as (

    select
        contract_revenue.currency,
        sum(contract_revenue.revenue) as revenue,
        sum(contract_revenue.revenue) * any_value(currency_rates.rate_to_usd) as revenue_usd
    from contract_revenue
    left join currency_rates
        on contract_revenue.currency = currency_rates.currency
    group by contract_revenue.currency

),

actual as (

    select
        currency,
        count(*) as order_count,
        sum(revenue_amount) as revenue,
        sum(revenue_usd) as revenue_usd
    from fct_orders
    group by currency

),

final as (

    select
        coalesce(expected.currency, actual.currency) as currency,
        expected.revenue as expected_revenue,
        actual.revenue as actual_revenue,
        expected.revenue_usd as expected_revenue_usd,
        actual.revenue_usd as actual_revenue_usd
    from expected
    full outer join actual
        on expected.currency = actual.currency
    where
        coalesce(expected.revenue, 0) != coalesce(actual.revenue, 0)
        or (expected.revenue_usd is null) != (actual.revenue_usd is null)
        or abs(expected.revenue_usd - actual.revenue_usd) > 0.005 * actual.order_count

)

select * from final
