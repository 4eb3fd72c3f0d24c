-- Where customers moved between RFM segments: the latest as-of date of
-- customer_rfm_history against the one before it. A customer without a
-- segment on a date (no purchase yet, or not known then) counts as '(none)'.
with

history as {{ not_materialized() }} (

    select * from {{ ref('customer_rfm_history') }}

),

compared_dates as (

    select
        max(as_of_date) as as_of_date,
        max(as_of_date) filter (
            where as_of_date < (
                select max(latest.as_of_date) as latest_as_of_date
                from history as latest
            )
        ) as previous_as_of_date
    from history

),

previous_segments as (

    select
        history.customer_id,
        history.rfm_segment
    from history
    inner join compared_dates
        on history.as_of_date = compared_dates.previous_as_of_date

),

latest_segments as (

    select
        history.customer_id,
        history.rfm_segment
    from history
    inner join compared_dates
        on history.as_of_date = compared_dates.as_of_date

),

moves as (

    select
        coalesce(previous_segments.rfm_segment, '(none)') as from_segment,
        coalesce(latest_segments.rfm_segment, '(none)') as to_segment
    from previous_segments
    full outer join latest_segments
        on previous_segments.customer_id = latest_segments.customer_id

),

final as (

    select
        compared_dates.previous_as_of_date,
        compared_dates.as_of_date,
        moves.from_segment,
        moves.to_segment,
        moves.from_segment = moves.to_segment as is_same_segment,
        count(*) as customer_count,
        cast(
            {{ round_ratio('count(*)', 'sum(count(*)) over (partition by moves.from_segment)', 4) }}
            as decimal(6, 4)
        ) as share_of_from_segment
    from moves
    cross join compared_dates
    where compared_dates.previous_as_of_date is not null
    group by
        compared_dates.previous_as_of_date,
        compared_dates.as_of_date,
        moves.from_segment,
        moves.to_segment

)

select * from final
