-- Survey responses at their own grain, so NPS, CSAT and CES add up over any slice
-- (month, touchpoint, customer attributes) from counts, never from rounded report rows.
with

survey_responses as (

    select * from {{ ref('stg_survey__responses') }}

),

resolved_records as (

    select * from {{ ref('int_source_records_resolved') }}

),

final as (

    select
        survey_responses.response_id,
        survey_responses.responded_at,
        {{ to_reporting_date('survey_responses.responded_at') }} as response_date,
        survey_responses.survey_type,
        coalesce(survey_responses.touchpoint, 'unspecified') as touchpoint,
        survey_responses.score,
        survey_responses.survey_type = 'nps' and survey_responses.score >= 9 as is_nps_promoter,
        survey_responses.survey_type = 'nps' and survey_responses.score <= 6 as is_nps_detractor,
        survey_responses.survey_type = 'csat' and survey_responses.score >= 4 as is_csat_top2,
        resolved_records.customer_id
    from survey_responses
    left join resolved_records
        on
            resolved_records.source = 'survey_responses'
            and survey_responses.response_id = resolved_records.source_record_id

)

select * from final
