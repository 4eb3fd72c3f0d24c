{%- set natural_key = 'entry_id' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'loyalty_ledger')) }}

),

renamed as (

    select
        {{ clean_text('entry_id') }} as entry_id,
        cast(entry_ts as timestamp) as posted_at,
        {{ clean_text('loyalty_id') }} as loyalty_id,
        lower({{ clean_text('entry_type') }}) as entry_type,
        cast(points as bigint) as points,
        lower({{ clean_text('source_channel') }}) as source_channel,
        {{ clean_text('related_id') }} as related_id,
        {{ clean_text('reason') }} as reason,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key) }}

)

select * from final
