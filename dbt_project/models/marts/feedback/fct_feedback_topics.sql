-- A text names one or more topics: shares of a topic count texts here, once per topic.
with

feedback_texts as (

    select * from {{ ref('fct_feedback_texts') }}

),

text_topics as (

    select * from {{ source('ml', 'feedback_text_topics') }}

),

final as (

    select
        feedback_texts.touchpoint_key,
        text_topics.topic,
        text_topics.topic = feedback_texts.primary_topic as is_primary_topic,
        feedback_texts.feedback_date,
        feedback_texts.channel,
        feedback_texts.touchpoint,
        feedback_texts.language,
        feedback_texts.sentiment_label,
        feedback_texts.sentiment_score,
        feedback_texts.nps_class,
        feedback_texts.customer_id
    from feedback_texts
    inner join text_topics
        on feedback_texts.touchpoint_key = text_topics.touchpoint_key

)

select * from final
