{%- set natural_key = 'event_id' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'campaign_events')) }}

),

renamed as (

    select
        {{ clean_text('event_id') }} as event_id,
        cast(event_ts as timestamp) as occurred_at,
        {{ clean_text('campaign_id') }} as campaign_id,
        lower({{ clean_text('channel') }}) as channel,
        {{ normalized_identifier('email') }},
        {{ normalized_identifier('phone', phone_source='campaign_events') }},
        {{ clean_text('device_id') }} as device_id,
        lower({{ clean_text('event_type') }}) as event_type,
        {{ clean_text('order_id') }} as order_id,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key) }}

)

select * from final
