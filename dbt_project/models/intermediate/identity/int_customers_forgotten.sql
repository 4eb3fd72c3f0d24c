-- Right to be forgotten: the customers holding a CRM profile whose latest
-- version is deleted. The earliest such request dates a customer holding
-- several profiles.
with

crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

identifier_clusters as (

    select * from {{ ref('int_identity__identifier_clusters') }}

),

final as (

    select
        identifier_clusters.customer_id,
        min(crm_customers.updated_at) as forgotten_at
    from crm_customers
    inner join identifier_clusters
        on 'crm:' || crm_customers.customer_ref = identifier_clusters.identifier_key
    where crm_customers.is_deleted
    group by identifier_clusters.customer_id

)

select * from final
