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

resolved_records as (

    select * from {{ ref('int_source_records_resolved') }}

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
        orders.is_purchase,
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
        -- null for an order without a usable identifier or of a forgotten
        -- person: the order and its revenue stay, anonymous
        resolved_records.customer_id
    from orders
    left join currency_rates
        on orders.currency = currency_rates.currency
    left join resolved_records
        on
            orders.source = resolved_records.source
            and orders.order_id = resolved_records.source_record_id

)

select * from final
