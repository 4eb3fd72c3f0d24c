-- Days on which a topic's negative texts in a channel jumped above their trailing
-- baseline. The baseline is the mean and standard deviation of the daily counts of the
-- baseline days before, zero days included; the limit is mean + k * max(sd, sqrt(mean)),
-- the Poisson floor keeping a quiet series (sd 0) from flagging every single text.
with

text_topics as (

    select * from {{ ref('fct_feedback_topics') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

window_bounds as (

    select
        as_of_date,
        {{ dbt.dateadd('day', 1 - var('feedback_spike_report_days'), 'as_of_date') }}
            as first_report_date,
        -- the baseline of the first reported day, but no day before the first record:
        -- a young warehouse has no history to call zero
        greatest(
            first_business_date,
            {{ dbt.dateadd(
                'day',
                1 - var('feedback_spike_report_days') - var('feedback_spike_baseline_days'),
                'as_of_date'
            ) }}
        ) as first_baseline_date
    from run_context

),

negative_texts as (

    select
        feedback_date,
        topic,
        channel,
        cast(count(*) as bigint) as negative_texts
    from text_topics
    where sentiment_label = 'negative'
    group by feedback_date, topic, channel

),

series as (

    select distinct
        topic,
        channel
    from negative_texts

),

daily as (

    select
        dates.date_day as feedback_date,
        series.topic,
        series.channel,
        coalesce(negative_texts.negative_texts, 0) as negative_texts
    from dates
    cross join series
    left join negative_texts
        on
            dates.date_day = negative_texts.feedback_date
            and series.topic = negative_texts.topic
            and series.channel = negative_texts.channel
    where
        dates.date_day >= (select window_bounds.first_baseline_date from window_bounds)
        and dates.date_day <= (select window_bounds.as_of_date from window_bounds)

),

baselines as (

    select
        *,
        count(*) over baseline_window as baseline_days,
        avg(negative_texts) over baseline_window as baseline_mean,
        stddev_samp(negative_texts) over baseline_window as baseline_sd
    from daily
    window baseline_window as (
        partition by topic, channel
        order by feedback_date
        rows between {{ var('feedback_spike_baseline_days') }} preceding and 1 preceding
    )

),

limits as (

    select
        *,
        baseline_mean + {{ var('feedback_spike_sigmas') }}
        * greatest(coalesce(baseline_sd, 0), sqrt(baseline_mean)) as spike_limit
    from baselines

),

final as (

    select
        feedback_date,
        topic,
        channel,
        negative_texts,
        cast(baseline_days as bigint) as baseline_days,
        round(baseline_mean, 4) as baseline_mean,
        round(baseline_sd, 4) as baseline_sd,
        round(spike_limit, 4) as spike_limit,
        coalesce(
            baseline_days = {{ var('feedback_spike_baseline_days') }}
            and negative_texts >= {{ var('feedback_spike_min_texts') }}
            and negative_texts > spike_limit,
            false
        ) as is_spike
    from limits
    where
        negative_texts > 0
        and feedback_date >= (select window_bounds.first_report_date from window_bounds)

)

select * from final
