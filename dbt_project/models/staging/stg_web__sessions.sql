{%- set natural_key = 'session_id' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'web_sessions')) }}

),

renamed as (

    select
        {{ clean_text('session_id') }} as session_id,
        cast(session_start as timestamp) as session_started_at,
        {{ clean_text('cookie_id') }} as cookie_id,
        {{ clean_text('customer_ref') }} as customer_ref,
        lower({{ clean_text('traffic_source') }}) as traffic_source,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('landing_page') }} as landing_page,
        lower({{ clean_text('device_type') }}) as device_type,
        cast(pageviews as bigint) as pageview_count,
        {{ clean_text('order_id') }} as order_id,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key) }}

)

select * from final
