-- depends_on: {{ ref('customer_merges') }}
-- Built after customer_merges, which compares the new mapping with this
-- table as the previous run left it. Forgotten customers' identifiers are
-- left out.
with

identifier_clusters as (

    select * from {{ ref('int_identity__identifier_clusters') }}

),

customers_forgotten as (

    select * from {{ ref('int_customers_forgotten') }}

),

final as (

    select
        identifier_clusters.identifier_type,
        identifier_clusters.identifier_value,
        identifier_clusters.customer_id,
        identifier_clusters.first_seen,
        identifier_clusters.last_seen,
        identifier_clusters.sources
    from identifier_clusters
    anti join customers_forgotten
        on identifier_clusters.customer_id = customers_forgotten.customer_id

)

select * from final
