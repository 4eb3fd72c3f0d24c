-- NPS of survey responses up to the as-of date per combination of RFM segment and
-- channel profile; responses reach a customer through fct_touchpoints.

with

survey_responses as (

    select * from {{ ref('stg_survey__responses') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

customer_rfm as (

    select * from {{ ref('customer_rfm') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

run_settings as (

    -- without an as-of date nothing is cut off
    select
        {{ as_of_date("date '9999-12-31'") }} as as_of_date

),

nps_responses as (

    select
        survey_responses.score,
        touchpoints.customer_id
    from survey_responses
    left join touchpoints
        on
            touchpoints.source = 'survey_responses'
            and survey_responses.response_id = touchpoints.source_record_id
    where
        survey_responses.survey_type = 'nps'
        and {{ to_reporting_date('survey_responses.responded_at') }}
        <= (select run_settings.as_of_date from run_settings)

),

segmented_responses as (

    select
        case
            when nps_responses.customer_id is null then '(unknown)'
            else coalesce(customer_rfm.rfm_segment, '(none)')
        end as rfm_segment,
        coalesce(customers.channel_profile, '(unknown)') as channel_profile,
        nps_responses.score
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
        cast(count(*) filter (where score >= 9) as bigint) as promoters,
        cast(count(*) filter (where score between 7 and 8) as bigint) as passives,
        cast(count(*) filter (where score <= 6) as bigint) as detractors,
        cast(
            round(
                100.0
                * (count(*) filter (where score >= 9) - count(*) filter (where score <= 6))
                / count(*),
                1
            ) as decimal(5, 1)
        ) as nps
    from segmented_responses
    group by all

)

select * from final
