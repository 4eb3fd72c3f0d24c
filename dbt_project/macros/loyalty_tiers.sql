{#- The loyalty_tiers seed as spend intervals, a CTE body (tier, tier_rank,
    lower_bound_usd, upper_bound_usd): a tier holds 12-month spend in
    [lower, upper); the lowest tier has no lower bound, so a net refund still
    gets a tier, and the highest no upper bound. Used by the tier history mart
    and the churn features. -#}
{% macro loyalty_tier_bounds(tiers_relation) -%}
    select
        tier,
        tier_rank,
        case
            when tier_rank > min(tier_rank) over () then min_spend_12m_usd
        end as lower_bound_usd,
        lead(min_spend_12m_usd) over (order by tier_rank) as upper_bound_usd
    from {{ tiers_relation }}
{%- endmacro %}

{#- Join condition: spend_expression falls in the tier interval of the
    loyalty_tier_bounds() relation `bounds`. -#}
{% macro spend_in_tier(spend_expression, bounds) -%}
    (
        {{ bounds }}.lower_bound_usd is null
        or {{ spend_expression }} >= {{ bounds }}.lower_bound_usd
    )
    and (
        {{ bounds }}.upper_bound_usd is null
        or {{ spend_expression }} < {{ bounds }}.upper_bound_usd
    )
{%- endmacro %}
