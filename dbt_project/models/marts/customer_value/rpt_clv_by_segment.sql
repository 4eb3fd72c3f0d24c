-- Predicted value and churn risk of the run's scored customers, summed per
-- combination of RFM segment, value tier, channel profile and first-purchase channel:
-- one wide table a BI tool slices by any of them.

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

final as (

    -- sums and counts add up over any slice; an average of a slice is its sum over its
    -- count, never the average of the rows' averages
    select
        coalesce(rfm_segment, '(none)') as rfm_segment,
        coalesce(value_tier, '(none)') as value_tier,
        channel_profile,
        coalesce(first_purchase_channel, '(none)') as first_purchase_channel,
        cast(count(*) as bigint) as customers,
        cast(count(clv_365d) as bigint) as customers_with_clv,
        cast(round(sum(clv_365d), 2) as decimal(18, 2)) as total_clv_365d_usd,
        cast(round(sum(p_alive), 4) as decimal(18, 4)) as sum_p_alive,
        cast(count(churn_probability) as bigint) as customers_with_churn_score,
        cast(round(sum(churn_probability), 4) as decimal(18, 4)) as sum_churn_probability,
        cast(count(*) filter (where risk_tier = 'high') as bigint) as high_risk_customers,
        cast(
            round(coalesce(sum(clv_365d) filter (where risk_tier = 'high'), 0), 2)
            as decimal(18, 2)
        ) as clv_365d_at_high_risk_usd,
        cast(round(avg(clv_365d), 2) as decimal(18, 2)) as avg_clv_365d_usd,
        cast(round(avg(p_alive), 4) as decimal(8, 4)) as avg_p_alive,
        cast(round(avg(churn_probability), 4) as decimal(8, 4)) as avg_churn_probability,
        cast(
            {{ round_ratio("count(*) filter (where risk_tier = 'high')", 'count(*)', 4) }}
            as decimal(8, 4)
        ) as high_risk_share
    from scored_customers
    group by all

)

select * from final
