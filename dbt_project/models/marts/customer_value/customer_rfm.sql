-- RFM of every customer as of the run's date: the as-of snapshot of
-- customer_rfm_history, where the rules are.
with

history as {{ not_materialized() }} (

    select * from {{ ref('customer_rfm_history') }}

),

as_of as (

    select max(as_of_date) as as_of_date
    from history

),

final as (

    select
        history.customer_id,
        history.as_of_date,
        history.channel_profile,
        history.has_purchase,
        history.last_purchase_date,
        history.recency_days,
        history.frequency_days,
        history.monetary_usd,
        history.last_interaction_date,
        history.days_since_last_interaction,
        history.r_score,
        history.f_score,
        history.m_score,
        history.fm_score,
        history.rfm_cell,
        history.rfm_segment,
        history.value_tier
    from history
    inner join as_of
        on history.as_of_date = as_of.as_of_date

)

select * from final
