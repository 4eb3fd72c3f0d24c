-- The customer of every customer-facing record (int_identity__record_customers),
-- with its reason when it has none. A record whose person asked to be forgotten
-- gets no customer.
with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

record_customers as (

    select * from {{ ref('int_identity__record_customers') }}

),

customers_forgotten as (

    select * from {{ ref('int_customers_forgotten') }}

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
            when not coalesce(record_customers.carries_identifier, false) then 'no_identifier'
            when record_customers.customer_id is null then 'only_excluded_identifiers'
        end as unresolved_reason
    from touchpoints
    left join record_customers on touchpoints.touchpoint_key = record_customers.record_key
    left join customers_forgotten
        on record_customers.customer_id = customers_forgotten.customer_id

)

select * from final
