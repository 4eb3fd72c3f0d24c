-- A table, not a view: the text-scoring asset reads it, on Spark through its Parquet.
{{ config(materialized='table') }}

with

survey_responses as (

    select * from {{ ref('stg_survey__responses') }}

),

service_tickets as (

    select * from {{ ref('stg_service__tickets') }}

),

social_interactions as (

    select * from {{ ref('stg_social__interactions') }}

),

texts as (

    select
        'survey_responses' as source,
        response_id as source_record_id,
        responded_at as occurred_at,
        'survey' as channel,
        coalesce(touchpoint, 'unspecified') as touchpoint,
        response_comment as feedback_text
    from survey_responses

    union all

    select
        'service_tickets' as source,
        ticket_id as source_record_id,
        opened_at as occurred_at,
        'service' as channel,
        coalesce(contact_channel, 'unspecified') as touchpoint,
        ticket_text as feedback_text
    from service_tickets

    union all

    select
        'social_interactions' as source,
        interaction_id as source_record_id,
        interacted_at as occurred_at,
        'social' as channel,
        coalesce(platform, 'unspecified') as touchpoint,
        interaction_text as feedback_text
    from social_interactions

),

final as (

    select
        source || ':' || source_record_id as touchpoint_key,
        source,
        source_record_id,
        occurred_at,
        channel,
        touchpoint,
        feedback_text,
        {{ dbt.hash('feedback_text') }} as text_hash
    from texts
    where feedback_text is not null

)

select * from final
