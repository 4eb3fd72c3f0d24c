{%- set natural_key = 'assignment_key' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'experiment_assignments')) }}

),

renamed as (

    select
        {{ clean_text('experiment_id') }} as experiment_id,
        {{ clean_text('variant') }} as variant,
        cast(assigned_ts as timestamp) as assigned_at,
        lower({{ clean_text('incentive_type') }}) as incentive_type,
        {{ clean_text('customer_ref') }} as customer_ref,
        {{ clean_text('loyalty_id') }} as loyalty_id,
        {{ normalized_identifier('email') }},
        {{ lineage_columns() }}

    from source

),

keyed as (

    select
        {{ composite_key(['experiment_id', 'customer_ref', 'loyalty_id', 'email']) }}
            as assignment_key,
        *
    from renamed

),

final as (

    {{ dedupe_latest('keyed', natural_key) }}

)

select * from final
