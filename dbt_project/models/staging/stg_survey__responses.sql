{%- set natural_key = 'response_id' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'survey_responses')) }}

),

renamed as (

    select
        {{ clean_text('response_id') }} as response_id,
        cast(response_ts as timestamp) as responded_at,
        lower({{ clean_text('survey_type') }}) as survey_type,
        cast(score as bigint) as score,
        lower({{ clean_text('touchpoint') }}) as touchpoint,
        {{ clean_text('customer_ref') }} as customer_ref,
        {{ normalized_identifier('email') }},
        {{ normalized_identifier('phone', phone_source='survey_responses') }},
        {{ clean_text('related_id') }} as related_id,
        {{ clean_text('comment') }} as response_comment,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key) }}

)

select * from final
