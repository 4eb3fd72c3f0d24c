-- Recent NPS detractors worth a call: those whose CLV ranks in the top share of the
-- customers with one, with what their latest detractor comment was about and the
-- service tickets they still have open. Highest CLV first (callback_rank).
with

survey_responses as (

    select * from {{ ref('fct_survey_responses') }}

),

feedback_texts as (

    select * from {{ ref('fct_feedback_texts') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

run_context as {{ not_materialized() }} (

    select * from {{ ref('int_run_context') }}

),

recent_detractions as (

    select
        customer_id,
        response_id,
        responded_at,
        touchpoint,
        score,
        count(*) over (partition by customer_id) as detractor_responses,
        row_number() over (
            partition by customer_id
            order by responded_at desc, response_id desc
        ) as recency_rank
    from survey_responses
    where
        is_nps_detractor
        and customer_id is not null
        and response_date <= (select run_context.as_of_date from run_context)
        and response_date > (
            select
                {{ dbt.dateadd('day', -var('feedback_callback_days'), 'run_context.as_of_date') }}
            from run_context
        )

),

clv_ranks as (

    select
        customer_id,
        clv_365d,
        churn_probability,
        risk_tier,
        open_ticket_count,
        percent_rank() over (order by clv_365d) as clv_percentile
    from customers
    where clv_365d is not null

),

final as (

    select
        recent_detractions.customer_id,
        recent_detractions.responded_at as last_detractor_response_at,
        recent_detractions.score as last_detractor_score,
        recent_detractions.touchpoint as last_detractor_touchpoint,
        feedback_texts.primary_topic as last_comment_topic,
        feedback_texts.sentiment_score as last_comment_sentiment_score,
        cast(recent_detractions.detractor_responses as bigint) as detractor_responses,
        clv_ranks.clv_365d,
        clv_ranks.clv_percentile,
        clv_ranks.churn_probability,
        clv_ranks.risk_tier,
        clv_ranks.open_ticket_count,
        cast(row_number() over (
            order by clv_ranks.clv_365d desc, recent_detractions.customer_id asc
        ) as bigint) as callback_rank
    from recent_detractions
    inner join clv_ranks
        on recent_detractions.customer_id = clv_ranks.customer_id
    left join feedback_texts
        on 'survey_responses:' || recent_detractions.response_id = feedback_texts.touchpoint_key
    where
        recent_detractions.recency_rank = 1
        and clv_ranks.clv_percentile >= 1 - {{ var('feedback_callback_clv_share') }}

)

select * from final
