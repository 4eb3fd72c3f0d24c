-- One row per resolved customer: what their records say
-- (int_customers_aggregated: the golden-record profile and the facts) with the
-- models' scores of the run's as-of date. A forgotten customer has no row: its id
-- is a hash of one of its identifiers, so even a row without attributes would keep
-- a trace of the person. Where the customer lives, their age and gender are
-- quasi-identifiers: published generalised (see generalised_profiles).
with

customers as {{ not_materialized() }} (

    select * from {{ ref('int_customers_aggregated') }}

),

run_context as {{ not_materialized() }} (

    select * from {{ ref('int_run_context') }}

),

customer_journeys as (

    select * from {{ ref('fct_customer_journeys') }}

),

customer_clv as (

    select * from {{ source('ml', 'customer_clv') }}
    where as_of_date = (select run_context.as_of_date from run_context)

),

customer_churn as (

    select * from {{ source('ml', 'customer_churn') }}
    where as_of_date = (select run_context.as_of_date from run_context)

),

first_actions as (

    select
        customer_id,
        channel as first_touch_channel
    from customer_journeys
    where touchpoint_sequence = 1

),

-- Levels of generalisation, finest first: 0 country, city, age band, gender; 1 the city
-- becomes 'other'; 2 also the gender 'unknown'; 3 also the age band 'unknown'; 4 also
-- the country 'other'. A customer stays at the finest level whose group, counted
-- among the customers not kept at a finer one, has at least k_anonymity members, so
-- every group of the published combination does (Datafly-style, attribute by
-- attribute from the most identifying). If the customers left for level 4 are fewer
-- than k, the smallest countries of level 3 join them; the publish gate refuses a file
-- in which a group is still too small (fewer than k customers in all).
quasi_identifiers as (

    select
        customers.customer_id,
        coalesce(customers.country_code, 'unknown') as country_code,
        coalesce(customers.city, 'unknown') as city,
        {{ age_band('customers.birth_date', 'run_context.as_of_date') }} as age_band,
        coalesce(customers.gender, 'unknown') as gender
    from customers
    cross join run_context

),

-- level_<n>_size: the customers sharing the row's level-n combination among those
-- not kept at a finer level
level_0_groups as (

    select
        *,
        count(*) over (partition by country_code, city, age_band, gender) as level_0_size
    from quasi_identifiers

),

level_1_groups as (

    select
        *,
        count_if(level_0_size < {{ var('k_anonymity') }})
            over (partition by country_code, age_band, gender)
            as level_1_size
    from level_0_groups

),

level_2_groups as (

    select
        *,
        count_if(greatest(level_0_size, level_1_size) < {{ var('k_anonymity') }})
            over (partition by country_code, age_band)
            as level_2_size
    from level_1_groups

),

level_3_groups as (

    select
        *,
        count_if(
            greatest(level_0_size, level_1_size, level_2_size) < {{ var('k_anonymity') }}
        ) over (partition by country_code) as level_3_size
    from level_2_groups

),

levels as (

    select
        *,
        case
            when level_0_size >= {{ var('k_anonymity') }} then 0
            when level_1_size >= {{ var('k_anonymity') }} then 1
            when level_2_size >= {{ var('k_anonymity') }} then 2
            when level_3_size >= {{ var('k_anonymity') }} then 3
            else 4
        end as finest_level
    from level_3_groups

),

level_4_customers as (

    select count(*) as customers
    from levels
    where finest_level = 4

),

-- Level 3's countries from the smallest, with the customers left for level 4 before
-- them: a country moves to level 4 while those are still fewer than k.
level_3_countries as (

    select
        countries.country_code,
        sum(countries.level_3_size) over (
            order by countries.level_3_size, countries.country_code
            rows unbounded preceding
        ) - countries.level_3_size + level_4_customers.customers as left_before
    from (
        select
            country_code,
            any_value(level_3_size) as level_3_size
        from levels
        where finest_level = 3
        group by country_code
    ) as countries
    cross join level_4_customers

),

generalised_profiles as (

    select
        levels.customer_id,
        case
            when
                levels.finest_level = 3
                and level_3_countries.left_before between 1 and {{ var('k_anonymity') }} - 1
                then 4
            else levels.finest_level
        end as generalisation_level,
        levels.country_code,
        levels.city,
        levels.age_band,
        levels.gender
    from levels
    left join level_3_countries
        on
            levels.finest_level = 3
            and levels.country_code = level_3_countries.country_code

),

final as (

    select
        customers.customer_id,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.phone,
        case when profiles.generalisation_level <= 3 then profiles.country_code else 'other' end
            as country_code,
        case when profiles.generalisation_level = 0 then profiles.city else 'other' end as city,
        case when profiles.generalisation_level <= 2 then profiles.age_band else 'unknown' end
            as age_band,
        case when profiles.generalisation_level <= 1 then profiles.gender else 'unknown' end
            as gender,
        profiles.generalisation_level,
        customers.signup_date,
        customers.has_marketing_consent,
        customers.first_seen_at,
        customers.last_seen_at,
        customers.first_purchase_at,
        customers.last_purchase_at,
        customers.first_purchase_order_key,
        customers.first_purchase_channel,
        first_actions.first_touch_channel,
        customers.channels_used,
        customers.preferred_channel,
        customers.channel_profile,
        customers.online_to_store_purchases,
        customers.touchpoint_count,
        customers.lifetime_orders,
        -- a sum's precision differs by engine; the contract's is the widest
        cast(customers.lifetime_revenue_usd as decimal(38, 2)) as lifetime_revenue_usd,
        customers.loyalty_id,
        -- a sum of integers is a 128-bit integer, which Parquet stores as a double
        cast(customers.loyalty_points_balance as bigint) as loyalty_points_balance,
        customers.latest_nps_score,
        customers.latest_csat_score,
        customers.open_ticket_count,
        customer_clv.clv_365d,
        customer_clv.p_alive,
        customer_churn.churn_probability,
        customer_churn.risk_tier
    from customers
    inner join generalised_profiles as profiles
        on customers.customer_id = profiles.customer_id
    left join first_actions
        on customers.customer_id = first_actions.customer_id
    left join customer_clv
        on customers.customer_id = customer_clv.customer_id
    left join customer_churn
        on customers.customer_id = customer_churn.customer_id

)

select * from final
