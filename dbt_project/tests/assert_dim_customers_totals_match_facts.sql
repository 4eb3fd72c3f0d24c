-- dim_customers adds up to the facts: its lifetime revenue and orders equal
-- fct_orders' revenue and purchases of identified customers, and the customers
-- of rpt_cross_channel_paths are exactly those with a first purchase. Returns
-- the measures that disagree. Dagster shows it as a check of dim_customers.
{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}

with

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

cross_channel_paths as (

    select * from {{ ref('rpt_cross_channel_paths') }}

),

from_dimension as (

    select
        coalesce(sum(lifetime_revenue_usd), 0) as revenue_usd,
        coalesce(sum(lifetime_orders), 0) as purchases,
        count(first_purchase_at) as buyers
    from dim_customers

),

from_facts as (

    select
        coalesce(sum(revenue_usd) filter (where customer_id is not null), 0) as revenue_usd,
        count(*) filter (where customer_id is not null and is_purchase) as purchases
    from fct_orders

),

from_paths as (

    select coalesce(sum(customer_count), 0) as buyers
    from cross_channel_paths

),

final as (

    select
        from_dimension.*,
        from_facts.revenue_usd as fact_revenue_usd,
        from_facts.purchases as fact_purchases,
        from_paths.buyers as path_buyers
    from from_dimension
    cross join from_facts
    cross join from_paths
    where
        from_dimension.revenue_usd != from_facts.revenue_usd
        or from_dimension.purchases != from_facts.purchases
        or from_dimension.buyers != from_paths.buyers

)

select * from final
