-- Which topics detractors name more often than promoters, month by month: a two-sided
-- two-proportion z-test (pooled) of the share of each group's commented NPS responses
-- naming the topic.
with

text_topics as (

    select * from {{ ref('fct_feedback_topics') }}

),

feedback_texts as (

    select * from {{ ref('fct_feedback_texts') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

commented_responses as (

    select
        touchpoint_key,
        cast(date_trunc('month', feedback_date) as date) as report_month,
        nps_class
    from feedback_texts
    where
        nps_class in ('detractor', 'promoter')
        and feedback_date <= (select run_context.as_of_date from run_context)

),

group_sizes as (

    select
        report_month,
        cast(count(*) filter (where nps_class = 'detractor') as bigint) as detractors,
        cast(count(*) filter (where nps_class = 'promoter') as bigint) as promoters
    from commented_responses
    group by report_month

),

mentions as (

    select
        commented_responses.report_month,
        text_topics.topic,
        cast(
            count(*) filter (where commented_responses.nps_class = 'detractor') as bigint
        ) as detractor_mentions,
        cast(
            count(*) filter (where commented_responses.nps_class = 'promoter') as bigint
        ) as promoter_mentions
    from commented_responses
    inner join text_topics
        on commented_responses.touchpoint_key = text_topics.touchpoint_key
    group by commented_responses.report_month, text_topics.topic

),

rates as (

    select
        mentions.report_month,
        mentions.topic,
        group_sizes.detractors,
        mentions.detractor_mentions,
        group_sizes.promoters,
        mentions.promoter_mentions,
        mentions.detractor_mentions / nullif(group_sizes.detractors, 0) as detractor_rate,
        mentions.promoter_mentions / nullif(group_sizes.promoters, 0) as promoter_rate,
        (mentions.detractor_mentions + mentions.promoter_mentions)
        / (group_sizes.detractors + group_sizes.promoters) as pooled_rate
    from mentions
    inner join group_sizes
        on mentions.report_month = group_sizes.report_month

),

tested as (

    select
        *,
        -- no test on groups too small for the normal approximation, or when every
        -- response (or none) names the topic
        case
            when
                detractors >= {{ var('feedback_driver_min_responses') }}
                and promoters >= {{ var('feedback_driver_min_responses') }}
                and pooled_rate > 0
                and pooled_rate < 1
                then (detractor_rate - promoter_rate) / sqrt(
                    pooled_rate * (1 - pooled_rate) * (1.0 / detractors + 1.0 / promoters)
                )
        end as z_score
    from rates

),

final as (

    select
        report_month,
        topic,
        detractors,
        detractor_mentions,
        promoters,
        promoter_mentions,
        detractor_rate,
        promoter_rate,
        round(z_score, 4) as z_score,
        round({{ two_sided_p_value('z_score') }}, 4) as p_value,
        case
            when z_score is null then 'not tested'
            when {{ two_sided_p_value('z_score') }} >= {{ var('feedback_driver_alpha') }}
                then 'none'
            when z_score > 0 then 'detractors'
            when z_score < 0 then 'promoters'
        end as over_represented_among
    from tested

)

select * from final
