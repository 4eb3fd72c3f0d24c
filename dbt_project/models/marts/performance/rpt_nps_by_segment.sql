-- NPS of survey responses up to the as-of date per combination of RFM segment and
-- channel profile; the classes are fct_survey_responses'.

with

survey_responses as (

    select * from {{ ref('fct_survey_responses') }}

),

customer_rfm as (

    select * from {{ ref('customer_rfm') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

nps_responses as (

    select
        customer_id,
        is_nps_promoter,
        is_nps_detractor
    from survey_responses
    where
        survey_type = 'nps'
        and response_date <= (select run_context.as_of_date from run_context)

),

segmented_responses as (

    select
        case
            when nps_responses.customer_id is null then '(unknown)'
            else coalesce(customer_rfm.rfm_segment, '(none)')
        end as rfm_segment,
        coalesce(customers.channel_profile, '(unknown)') as channel_profile,
        nps_responses.is_nps_promoter,
        nps_responses.is_nps_detractor
    from nps_responses
    left join customer_rfm
        on nps_responses.customer_id = customer_rfm.customer_id
    left join customers
        on nps_responses.customer_id = customers.customer_id

),

final as (

    -- the counts add up over any slice; the NPS of a slice is computed from its
    -- counts, never averaged from the rows' nps
    select
        rfm_segment,
        channel_profile,
        cast(count(*) as bigint) as responses,
        cast(count(*) filter (where is_nps_promoter) as bigint) as promoters,
        cast(
            count(*) filter (where not is_nps_promoter and not is_nps_detractor) as bigint
        ) as passives,
        cast(count(*) filter (where is_nps_detractor) as bigint) as detractors,
        {{ nps(
            'count(*) filter (where is_nps_promoter)',
            'count(*) filter (where is_nps_detractor)',
            'count(*)'
        ) }} as nps
    from segmented_responses
    group by all

)

select * from final
