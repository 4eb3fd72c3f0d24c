{%- set natural_key = 'order_id' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'web_orders')) }}

),

renamed as (

    select
        {{ clean_text('order_id') }} as order_id,
        cast(order_ts as timestamp) as ordered_at,
        cast(updated_at as timestamp) as updated_at,
        lower({{ clean_text('storefront') }}) as storefront,
        lower({{ clean_text('status') }}) as status,
        {{ clean_text('customer_ref') }} as customer_ref,
        {{ normalized_identifier('email') }},
        {{ normalized_identifier('phone', phone_source='web_orders') }},
        {{ clean_text('loyalty_id') }} as loyalty_id,
        {{ clean_text('cookie_id') }} as cookie_id,
        {{ clean_text('device_id') }} as device_id,
        {{ normalize_currency('currency') }} as currency,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        coalesce(cast(discount_amount as decimal(18, 2)), 0) as discount_amount,
        cast(net_amount as decimal(18, 2)) as net_amount,
        cast(item_count as bigint) as item_count,
        {{ clean_text('coupon_code') }} as coupon_code,
        {{ clean_text('ship_city') }} as ship_city,
        upper({{ clean_text('ship_country') }}) as ship_country_code,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key, 'updated_at') }}

)

select * from final
