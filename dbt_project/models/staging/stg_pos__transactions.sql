{%- set natural_key = 'transaction_id' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'pos_transactions')) }}

),

renamed as (

    select
        {{ clean_text('transaction_id') }} as transaction_id,
        {{ clean_text('store_id') }} as store_id,
        cast(txn_ts as timestamp) as transacted_at,
        lower({{ clean_text('txn_type') }}) as txn_type,
        {{ clean_text('loyalty_id') }} as loyalty_id,
        {{ normalized_identifier('phone', phone_source='pos_transactions') }},
        {{ clean_text('card_hash') }} as card_hash,
        {{ normalize_currency('currency') }} as currency,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        coalesce(cast(discount_amount as decimal(18, 2)), 0) as discount_amount,
        cast(net_amount as decimal(18, 2)) as net_amount,
        cast(item_count as bigint) as item_count,
        {{ clean_text('original_transaction_id') }} as original_transaction_id,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key) }}

)

select * from final
