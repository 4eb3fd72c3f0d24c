{%- set natural_key = 'ticket_id' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'service_tickets')) }}

),

renamed as (

    select
        {{ clean_text('ticket_id') }} as ticket_id,
        cast(opened_ts as timestamp) as opened_at,
        cast(updated_at as timestamp) as updated_at,
        cast(closed_ts as timestamp) as closed_at,
        lower({{ clean_text('contact_channel') }}) as contact_channel,
        {{ clean_text('customer_ref') }} as customer_ref,
        {{ normalized_identifier('email') }},
        {{ normalized_identifier('phone', phone_source='service_tickets') }},
        lower({{ clean_text('category') }}) as category,
        lower({{ clean_text('priority') }}) as priority,
        lower({{ clean_text('status') }}) as status,
        cast(first_response_minutes as double) as first_response_minutes,
        cast(reopened_count as bigint) as reopened_count,
        {{ clean_text('text') }} as ticket_text,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key, 'updated_at') }}

)

select * from final
