-- Every run's RFM, kept: each run inserts its as-of date's rows (a rerun of
-- the same date replaces them). Never rebuilt from scratch - past segments
-- cannot be recomputed once the facts change. A customer who asks to be
-- forgotten loses their past rows too (post-hook).
-- depends_on: {{ ref('int_customers_forgotten') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['customer_id', 'as_of_date'],
        full_refresh=false,
        on_schema_change='fail',
        post_hook=[
            "delete from {{ this }} where customer_id in"
            " (select customer_id from {{ ref('int_customers_forgotten') }})"
        ]
    )
}}

with

customer_rfm as (

    select * from {{ ref('customer_rfm') }}

),

final as (

    select
        customer_id,
        as_of_date,
        channel_profile,
        has_purchase,
        recency_days,
        frequency_days,
        monetary_usd,
        r_score,
        f_score,
        m_score,
        rfm_cell,
        rfm_segment,
        value_tier
    from customer_rfm

)

select * from final
