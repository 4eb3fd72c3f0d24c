-- The customer of every customer-facing record: the customer of its
-- strongest identifier that resolves (strong before weak, then type
-- priority). A record whose person asked to be forgotten gets no customer.
with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

record_identifiers as (

    select * from {{ ref('int_identity__record_identifiers') }}

),

identifier_clusters as (

    select * from {{ ref('int_identity__identifier_clusters') }}

),

customers_forgotten as (

    select * from {{ ref('int_customers_forgotten') }}

),

record_customers as (

    select
        record_identifiers.record_key,
        first(
            identifier_clusters.customer_id
            order by
                identifier_clusters.is_strong desc,
                {{ identifier_type_rank('identifier_clusters.identifier_type') }} asc,
                identifier_clusters.identifier_key asc
        ) filter (where identifier_clusters.customer_id is not null) as customer_id
    from record_identifiers
    left join identifier_clusters
        on record_identifiers.identifier_key = identifier_clusters.identifier_key
    where record_identifiers.is_resolved_record
    group by record_identifiers.record_key

),

final as (

    select
        touchpoints.source,
        touchpoints.source_record_id,
        case
            when customers_forgotten.customer_id is null then record_customers.customer_id
        end as customer_id,
        case
            when customers_forgotten.customer_id is not null then 'forgotten'
            when record_customers.record_key is null then 'no_identifier'
            when record_customers.customer_id is null then 'only_excluded_identifiers'
        end as unresolved_reason
    from touchpoints
    left join record_customers on touchpoints.touchpoint_key = record_customers.record_key
    left join customers_forgotten
        on record_customers.customer_id = customers_forgotten.customer_id

)

select * from final
