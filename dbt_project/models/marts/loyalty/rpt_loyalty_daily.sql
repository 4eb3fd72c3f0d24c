with

ledger as {{ not_materialized() }} (

    select * from {{ ref('fct_points_ledger') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

calendar as (

    select * from {{ ref('dim_dates') }}

),

days as (

    -- every day from the first entry to the as-of date
    select calendar.date_day as report_date
    from calendar
    cross join run_context
    where
        calendar.date_day >= (select min(ledger.entry_date) as first_entry_date from ledger)
        and calendar.date_day <= run_context.as_of_date

),

daily_entries as (

    select
        entry_date,
        count(*) as entry_count,
        count(distinct loyalty_id) as active_member_count,
        sum(
            case
                when
                    entry_type in ('earn', 'bonus')
                    or (entry_type = 'adjust' and signed_points > 0)
                    then signed_points
                else 0
            end
        ) as points_issued,
        sum(case when entry_type = 'redeem' then -signed_points else 0 end) as points_redeemed,
        sum(case when entry_type = 'expire' then -signed_points else 0 end) as points_expired,
        sum(
            case when entry_type = 'adjust' and signed_points < 0 then -signed_points else 0 end
        ) as points_adjusted_down,
        sum(signed_points) as net_points_change
    from ledger
    group by entry_date

),

daily as (

    select
        days.report_date,
        coalesce(daily_entries.entry_count, 0) as entry_count,
        coalesce(daily_entries.active_member_count, 0) as active_member_count,
        coalesce(daily_entries.points_issued, 0) as points_issued,
        coalesce(daily_entries.points_redeemed, 0) as points_redeemed,
        coalesce(daily_entries.points_expired, 0) as points_expired,
        coalesce(daily_entries.points_adjusted_down, 0) as points_adjusted_down,
        coalesce(daily_entries.net_points_change, 0) as net_points_change
    from days
    left join daily_entries
        on days.report_date = daily_entries.entry_date

),

cumulated as (

    select
        *,
        sum(net_points_change) over (order by report_date) as points_outstanding,
        sum(points_issued) over (order by report_date) as cumulative_points_issued,
        sum(points_redeemed) over (order by report_date) as cumulative_points_redeemed,
        sum(points_expired) over (order by report_date) as cumulative_points_expired
    from daily

),

final as (

    select
        report_date,
        entry_count,
        active_member_count,
        cast(points_issued as bigint) as points_issued,
        cast(points_redeemed as bigint) as points_redeemed,
        cast(points_expired as bigint) as points_expired,
        cast(points_adjusted_down as bigint) as points_adjusted_down,
        cast(net_points_change as bigint) as net_points_change,
        cast(points_outstanding as bigint) as points_outstanding,
        cast(
            round(points_outstanding * {{ var('loyalty_point_value_usd') }}, 2)
            as decimal(18, 2)
        ) as liability_usd,
        cast(cumulative_points_issued as bigint) as cumulative_points_issued,
        cast(cumulative_points_redeemed as bigint) as cumulative_points_redeemed,
        cast(cumulative_points_expired as bigint) as cumulative_points_expired,
        cast(
            round(cumulative_points_redeemed / nullif(cumulative_points_issued, 0), 4)
            as decimal(9, 4)
        ) as redemption_rate,
        cast(
            round(cumulative_points_expired / nullif(cumulative_points_issued, 0), 4)
            as decimal(9, 4)
        ) as breakage_rate
    from cumulated

)

select * from final
