{#- currency_rates holds rates to USD; another reporting currency needs its rates first. -#}
{%- if var('reporting_currency') != 'USD' -%}
    {{ exceptions.raise_compiler_error(
        "fct_orders: reporting_currency=" ~ var('reporting_currency')
        ~ " is not supported; seeds/currency_rates.csv only has rate_to_usd"
    ) }}
{%- endif -%}

with

orders as (

    select * from {{ ref('int_orders_unioned') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

final as (

    select
        orders.order_key,
        orders.source,
        orders.order_id,
        orders.channel,
        orders.store_id,
        orders.ordered_at,
        {{ to_reporting_date('orders.ordered_at') }} as order_date,
        orders.status,
        orders.is_cancelled,
        orders.is_returned,
        orders.currency,
        orders.gross_amount,
        orders.discount_amount,
        orders.net_amount,
        orders.revenue_amount,
        currency_rates.rate_to_usd as fx_rate_to_usd,
        currency_rates.rate_to_usd is not null as has_fx_rate,
        -- without a rate the order stays, flagged, with null converted amounts
        cast(round(orders.net_amount * currency_rates.rate_to_usd, 2) as decimal(18, 2))
            as net_amount_usd,
        cast(round(orders.revenue_amount * currency_rates.rate_to_usd, 2) as decimal(18, 2))
            as revenue_usd,
        orders.item_count,
        orders.customer_id
    from orders
    left join currency_rates
        on orders.currency = currency_rates.currency

)

select * from final
