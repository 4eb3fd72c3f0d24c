-- One row per resolved customer: what their records say
-- (int_customers_aggregated: the golden-record profile and the facts) with the
-- models' scores of the run's as-of date. A forgotten customer has no row: its id
-- is a hash of one of its identifiers, so even a row without attributes would keep
-- a trace of the person.
with

customers as (

    select * from {{ ref('int_customers_aggregated') }}

),

customer_clv as (

    select * from {{ source('ml', 'customer_clv') }}
    where as_of_date = {{ as_of_date() }}

),

customer_churn as (

    select * from {{ source('ml', 'customer_churn') }}
    where as_of_date = {{ as_of_date() }}

),

final as (

    select
        customers.customer_id,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.phone,
        customers.city,
        customers.country_code,
        customers.birth_date,
        customers.gender,
        customers.signup_date,
        customers.has_marketing_consent,
        customers.first_seen_at,
        customers.last_seen_at,
        customers.first_purchase_at,
        customers.last_purchase_at,
        customers.first_purchase_order_key,
        customers.first_purchase_channel,
        customers.channels_used,
        customers.preferred_channel,
        customers.channel_profile,
        customers.online_to_store_purchases,
        customers.touchpoint_count,
        customers.lifetime_orders,
        customers.lifetime_revenue_usd,
        customers.loyalty_id,
        customers.loyalty_points_balance,
        customers.latest_nps_score,
        customers.latest_csat_score,
        customers.open_ticket_count,
        customer_clv.clv_365d,
        customer_clv.p_alive,
        customer_churn.churn_probability,
        customer_churn.risk_tier
    from customers
    left join customer_clv
        on customers.customer_id = customer_clv.customer_id
    left join customer_churn
        on customers.customer_id = customer_churn.customer_id

)

select * from final
