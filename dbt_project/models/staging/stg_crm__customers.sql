{%- set natural_key = 'customer_ref' %}
{{ config(materialized=stateful_materialization(), unique_key=natural_key) }}

with

source as (

    {{ new_raw_rows(source('raw', 'crm_customers')) }}

),

renamed as (

    select
        {{ clean_text('customer_ref') }} as customer_ref,
        cast(updated_at as timestamp) as updated_at,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ normalized_identifier('email') }},
        {{ normalized_identifier('phone', phone_source='crm_customers') }},
        {{ clean_text('loyalty_id') }} as loyalty_id,
        cast(birth_date as date) as birth_date,
        lower({{ clean_text('gender') }}) as gender,
        {{ clean_text('city') }} as city,
        upper({{ clean_text('country') }}) as country_code,
        cast(signup_date as date) as signup_date,
        cast(marketing_consent as boolean) as has_marketing_consent,
        coalesce(cast(is_deleted as boolean), false) as is_deleted,
        {{ lineage_columns() }}

    from source

),

final as (

    {{ dedupe_latest('renamed', natural_key, 'updated_at') }}

)

select * from final
