-- Predicted value and churn risk of the run's scored customers, summed by RFM
-- segment, value tier, channel profile and acquisition channel.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

customer_rfm as (

    select * from {{ ref('customer_rfm') }}

),

scored_customers as (

    select
        customers.customer_id,
        customers.channel_profile,
        customers.first_purchase_channel,
        customers.clv_365d,
        customers.p_alive,
        customers.churn_probability,
        customers.risk_tier,
        customer_rfm.rfm_segment,
        customer_rfm.value_tier
    from customers
    left join customer_rfm
        on customers.customer_id = customer_rfm.customer_id
    where customers.clv_365d is not null or customers.churn_probability is not null

),

by_dimension as (

    select
        'rfm_segment' as dimension,
        coalesce(rfm_segment, '(none)') as dimension_value,
        *
    from scored_customers

    union all

    select
        'value_tier' as dimension,
        coalesce(value_tier, '(none)') as dimension_value,
        *
    from scored_customers

    union all

    select
        'channel_profile' as dimension,
        channel_profile as dimension_value,
        *
    from scored_customers

    union all

    select
        'acquisition_channel' as dimension,
        coalesce(first_purchase_channel, '(none)') as dimension_value,
        *
    from scored_customers

),

final as (

    select
        dimension,
        dimension_value,
        count(*) as customers,
        cast(round(sum(clv_365d), 2) as decimal(18, 2)) as total_clv_365d_usd,
        cast(round(avg(clv_365d), 2) as decimal(18, 2)) as avg_clv_365d_usd,
        cast(round(avg(p_alive), 4) as decimal(8, 4)) as avg_p_alive,
        cast(round(avg(churn_probability), 4) as decimal(8, 4)) as avg_churn_probability,
        count(*) filter (where risk_tier = 'high') as high_risk_customers,
        cast(
            round(count(*) filter (where risk_tier = 'high') / count(*), 4) as decimal(8, 4)
        ) as high_risk_share,
        cast(
            round(sum(clv_365d) filter (where risk_tier = 'high'), 2) as decimal(18, 2)
        ) as clv_365d_at_high_risk_usd
    from by_dimension
    group by all

)

select * from final
