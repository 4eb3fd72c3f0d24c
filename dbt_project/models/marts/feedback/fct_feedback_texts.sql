-- The scores of each text joined to its customer and to what the record says beside the
-- words (survey class, ticket status). The text itself stays internal.
with

feedback_texts as (

    select * from {{ ref('int_feedback_texts') }}

),

text_scores as (

    select * from {{ source('ml', 'feedback_text_scores') }}

),

resolved_records as (

    select * from {{ ref('int_source_records_resolved') }}

),

survey_responses as (

    select * from {{ ref('fct_survey_responses') }}

),

service_tickets as (

    select * from {{ ref('stg_service__tickets') }}

),

final as (

    select
        feedback_texts.touchpoint_key,
        feedback_texts.source,
        feedback_texts.occurred_at,
        {{ to_reporting_date('feedback_texts.occurred_at') }} as feedback_date,
        feedback_texts.channel,
        feedback_texts.touchpoint,
        resolved_records.customer_id,
        text_scores.language,
        text_scores.sentiment_label,
        text_scores.sentiment_score,
        text_scores.primary_topic,
        survey_responses.survey_type,
        survey_responses.score as survey_score,
        case
            when survey_responses.is_nps_promoter then 'promoter'
            when survey_responses.is_nps_detractor then 'detractor'
            when survey_responses.survey_type = 'nps' then 'passive'
        end as nps_class,
        service_tickets.status as ticket_status
    from feedback_texts
    -- the scores of the text as it is now: a text changed since the last scoring waits
    -- for the next one rather than carry its old text's scores
    inner join text_scores
        on
            feedback_texts.touchpoint_key = text_scores.touchpoint_key
            and feedback_texts.text_hash = text_scores.text_hash
    left join resolved_records
        on feedback_texts.touchpoint_key = resolved_records.record_key
    left join survey_responses
        on
            feedback_texts.source = 'survey_responses'
            and feedback_texts.source_record_id = survey_responses.response_id
    left join service_tickets
        on
            feedback_texts.source = 'service_tickets'
            and feedback_texts.source_record_id = service_tickets.ticket_id

)

select * from final
