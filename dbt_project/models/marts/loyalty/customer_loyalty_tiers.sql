with

history as {{ not_materialized() }} (

    select * from {{ ref('rpt_loyalty_tier_history') }}

),

tiers as (

    select * from {{ ref('loyalty_tiers') }}

),

latest as (

    -- the last period end is the as-of date
    select *
    from history
    qualify period_end = max(period_end) over ()

),

tier_since as (

    -- the current run of a tier starts at its latest change (or first period)
    select
        customer_id,
        max(period_end) as tier_since_period_end
    from history
    where tier_change <> 'unchanged'
    group by customer_id

),

next_tiers as (

    select
        tier_rank,
        lead(tier) over (order by tier_rank) as next_tier,
        lead(min_spend_12m_usd) over (order by tier_rank) as next_tier_min_spend_usd
    from tiers

),

final as (

    select
        latest.customer_id,
        latest.loyalty_id,
        latest.period_end as as_of_date,
        latest.spend_12m_usd,
        latest.tier,
        latest.tier_rank,
        tier_since.tier_since_period_end,
        next_tiers.next_tier,
        cast(next_tiers.next_tier_min_spend_usd - latest.spend_12m_usd as decimal(18, 2))
            as spend_to_next_tier_usd
    from latest
    inner join tier_since
        on latest.customer_id = tier_since.customer_id
    inner join next_tiers
        on latest.tier_rank = next_tiers.tier_rank

)

select * from final
