{{ config(materialized='view') }}

-- Every delivered CRM profile version, not only the latest: a person who
-- changed email keeps both addresses linked to their CRM ref.
with

source as (

    select * from {{ source('raw', 'crm_customers') }}

),

final as (

    select
        {{ clean_text('customer_ref') }} as customer_ref,
        cast(updated_at as timestamp) as updated_at,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone', 'crm_customers') }} as phone,
        {{ clean_text('loyalty_id') }} as loyalty_id,
        coalesce(cast(is_deleted as boolean), false) as is_deleted,
        {{ lineage_columns() }}
    from source

)

select * from final
