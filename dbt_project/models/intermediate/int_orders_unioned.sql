-- Web/app orders and POS transactions in one order shape, with the contract's
-- revenue rule applied in the original currency. The customer comes from
-- identity resolution (fct_orders joins int_source_records_resolved).
with

web_orders as (

    select * from {{ ref('stg_web__orders') }}

),

pos_transactions as (

    select * from {{ ref('stg_pos__transactions') }}

),

web_orders_shaped as (

    select
        'web_orders' as source,
        order_id,
        storefront as channel,
        cast(null as string) as store_id,
        ordered_at,
        status,
        status = 'cancelled' as is_cancelled,
        status = 'returned' as is_returned,
        -- a returned order was still bought; a cancelled one never was
        status != 'cancelled' as is_purchase,
        currency,
        gross_amount,
        discount_amount,
        net_amount,
        -- a cancelled or returned order brings no revenue
        case
            when status in ('cancelled', 'returned') then cast(0 as decimal(18, 2))
            else net_amount
        end as revenue_amount,
        item_count
    from web_orders

),

pos_transactions_shaped as (

    select
        'pos_transactions' as source,
        transaction_id as order_id,
        'store' as channel,
        store_id,
        transacted_at as ordered_at,
        txn_type as status,
        false as is_cancelled,
        txn_type = 'return' as is_returned,
        txn_type = 'sale' as is_purchase,
        currency,
        gross_amount,
        discount_amount,
        net_amount,
        -- a return is subtracted whatever sign its file gave it
        case
            when txn_type = 'return' then -abs(net_amount)
            else net_amount
        end as revenue_amount,
        item_count
    from pos_transactions

),

unioned as (

    -- both shapes list the same columns in the same order
    select * from web_orders_shaped
    union all
    select * from pos_transactions_shaped

),

final as (

    select
        source || ':' || order_id as order_key,
        source,
        order_id,
        channel,
        store_id,
        ordered_at,
        status,
        is_cancelled,
        is_returned,
        is_purchase,
        currency,
        gross_amount,
        discount_amount,
        net_amount,
        revenue_amount,
        item_count
    from unioned

)

select * from final
