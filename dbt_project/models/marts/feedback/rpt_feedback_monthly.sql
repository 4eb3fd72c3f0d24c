-- Sentiment and topic share per month and slice, up to the as-of date. A slice's
-- customers are placed by their RFM segment and loyalty tier as of the run, as
-- rpt_nps_by_segment places them.
with

text_topics as (

    select * from {{ ref('fct_feedback_topics') }}

),

customer_rfm as (

    select * from {{ ref('customer_rfm') }}

),

loyalty_tiers as (

    select * from {{ ref('customer_loyalty_tiers') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

sliced as (

    select
        cast(date_trunc('month', text_topics.feedback_date) as date) as report_month,
        text_topics.channel,
        text_topics.touchpoint,
        text_topics.language,
        case
            when text_topics.customer_id is null then '(unknown)'
            else coalesce(customer_rfm.rfm_segment, '(none)')
        end as rfm_segment,
        case
            when text_topics.customer_id is null then '(unknown)'
            else coalesce(loyalty_tiers.tier, '(not a member)')
        end as loyalty_tier,
        text_topics.topic,
        text_topics.touchpoint_key,
        text_topics.sentiment_label,
        text_topics.sentiment_score
    from text_topics
    left join customer_rfm
        on text_topics.customer_id = customer_rfm.customer_id
    left join loyalty_tiers
        on text_topics.customer_id = loyalty_tiers.customer_id
    where text_topics.feedback_date <= (select run_context.as_of_date from run_context)

),

per_topic as (

    select
        report_month,
        channel,
        touchpoint,
        language,
        rfm_segment,
        loyalty_tier,
        topic,
        cast(count(*) as bigint) as texts,
        cast(count(*) filter (where sentiment_label = 'negative') as bigint) as negative_texts,
        cast(count(*) filter (where sentiment_label = 'neutral') as bigint) as neutral_texts,
        cast(count(*) filter (where sentiment_label = 'positive') as bigint) as positive_texts,
        sum(sentiment_score) as sentiment_score_total
    from sliced
    group by all

),

per_slice as (

    select
        report_month,
        channel,
        touchpoint,
        language,
        rfm_segment,
        loyalty_tier,
        cast(count(distinct touchpoint_key) as bigint) as slice_texts
    from sliced
    group by all

),

final as (

    select
        per_topic.report_month,
        per_topic.channel,
        per_topic.touchpoint,
        per_topic.language,
        per_topic.rfm_segment,
        per_topic.loyalty_tier,
        per_topic.topic,
        per_topic.texts,
        per_topic.negative_texts,
        per_topic.neutral_texts,
        per_topic.positive_texts,
        -- rounded: a parallel sum of doubles differs in its last digits from run to run
        cast(round(per_topic.sentiment_score_total, 4) as decimal(18, 4)) as sentiment_score_sum,
        per_slice.slice_texts,
        per_topic.texts / per_slice.slice_texts as topic_share,
        round(per_topic.sentiment_score_total / per_topic.texts, 4) as mean_sentiment_score
    from per_topic
    inner join per_slice
        on
            per_topic.report_month = per_slice.report_month
            and per_topic.channel = per_slice.channel
            and per_topic.touchpoint = per_slice.touchpoint
            and per_topic.language = per_slice.language
            and per_topic.rfm_segment = per_slice.rfm_segment
            and per_topic.loyalty_tier = per_slice.loyalty_tier

)

select * from final
