-- depends_on: {{ ref('int_source_record_changes') }}
{{ config(
    materialized=stateful_materialization(),
    incremental_strategy='replace_keys',
    unique_key='customer_id',
) }}

-- Each customer's actions in time order (what the company did or recorded -
-- sends, profile writes, points postings, test assignments - is left out),
-- with the channel switches between consecutive actions and where the first
-- purchase falls. Ties in time are ordered by touchpoint_key, so the sequence
-- is the same every run. An incremental build recomputes the journeys of the
-- customers whose records changed since the newest row it wrote.
with

{{ changed_customer_ctes() }}

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}
    {{- of_changed_customers() }}

),

customers as (

    select * from {{ ref('int_customers_aggregated') }}

),

sequenced as (

    select
        touchpoints.customer_id,
        touchpoints.touchpoint_key,
        touchpoints.occurred_at,
        touchpoints.occurred_date,
        touchpoints.channel,
        touchpoints.touchpoint_type,
        coalesce(touchpoints.touchpoint_key = customers.first_purchase_order_key, false)
            as is_first_purchase,
        cast(row_number() over customer_timeline as bigint) as touchpoint_sequence,
        lag(touchpoints.channel) over customer_timeline as previous_channel,
        lag(touchpoints.occurred_at) over customer_timeline as previous_occurred_at
    from touchpoints
    inner join customers
        on touchpoints.customer_id = customers.customer_id
    where touchpoints.is_customer_action
    window customer_timeline as (
        partition by touchpoints.customer_id
        order by touchpoints.occurred_at, touchpoints.touchpoint_key
    )

),

with_first_purchase as (

    select
        *,
        max(case when is_first_purchase then touchpoint_sequence end)
            over (partition by customer_id) as first_purchase_sequence
    from sequenced

),

final as (

    select
        customer_id,
        touchpoint_sequence,
        touchpoint_key,
        occurred_at,
        occurred_date,
        channel,
        touchpoint_type,
        previous_channel,
        coalesce(channel != previous_channel, false) as is_channel_switch,
        case
            when channel != previous_channel then previous_channel || ' → ' || channel
        end as channel_switch,
        cast(
            round(
                {{ datetime_diff('second', 'previous_occurred_at', 'occurred_at') }} / 86400.0, 2
            )
            as decimal(10, 2)
        ) as days_since_previous_touchpoint,
        -- a customer who never bought is still before their first purchase
        coalesce(touchpoint_sequence < first_purchase_sequence, true)
            as is_before_first_purchase,
        is_first_purchase,
        {{ build_timestamp() }} as _changed_at
    from with_first_purchase

)

{{ replace_keys_batch('final', 'rewritten_rows') }}
