{%- set natural_key = 'interaction_id' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'social_interactions')) }}

),

renamed as (

    select
        {{ clean_text('interaction_id') }} as interaction_id,
        cast(interaction_ts as timestamp) as interacted_at,
        lower({{ clean_text('platform') }}) as platform,
        {{ normalize_social_handle('platform', 'handle') }} as social_handle,
        {{ clean_text('customer_ref') }} as customer_ref,
        lower({{ clean_text('interaction_type') }}) as interaction_type,
        {{ clean_text('text') }} as interaction_text,
        {{ failed_normalization('handle', normalize_social_handle('platform', 'handle')) }}
            as social_handle_is_invalid,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key) }}

)

select * from final
