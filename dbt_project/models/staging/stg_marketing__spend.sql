{%- set natural_key = 'spend_key' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'marketing_spend')) }}

),

renamed as (

    select
        cast(spend_date as date) as spend_date,
        lower({{ clean_text('channel') }}) as channel,
        {{ clean_text('campaign_id') }} as campaign_id,
        cast(spend as decimal(18, 2)) as spend_amount,
        {{ normalize_currency('currency') }} as currency,
        cast(impressions as bigint) as impression_count,
        cast(clicks as bigint) as click_count,
        {{ lineage_columns() }}

    from source

),

keyed as (

    select
        {{ composite_key(['spend_date', 'channel', 'campaign_id']) }} as spend_key,
        *
    from renamed

),

final as (

    {{ dedupe_latest('keyed', natural_key) }}

)

select * from final
