-- Right to be forgotten: no mart names a forgotten customer - dim_customers
-- has no row for them, and their orders and touchpoints stay with a null
-- customer_id. Returns the offending rows. Dagster shows it as a check of
-- dim_customers.
{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}

with

forgotten_customers as (

    select * from {{ ref('int_customers_forgotten') }}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

fct_touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

fct_customer_journeys as (

    select * from {{ ref('fct_customer_journeys') }}

),

linked as (

    select
        'dim_customers' as mart,
        customer_id as row_key,
        customer_id
    from dim_customers

    union all

    select
        'fct_orders' as mart,
        order_key as row_key,
        customer_id
    from fct_orders

    union all

    select
        'fct_touchpoints' as mart,
        touchpoint_key as row_key,
        customer_id
    from fct_touchpoints

    union all

    select
        'fct_customer_journeys' as mart,
        touchpoint_key as row_key,
        customer_id
    from fct_customer_journeys

),

final as (

    select linked.*
    from linked
    inner join forgotten_customers
        on linked.customer_id = forgotten_customers.customer_id

)

select * from final
