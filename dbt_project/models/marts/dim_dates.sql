-- The calendar as a BI dimension: every reporting date from the first business date
-- loaded (an order, touchpoint, points entry or marketing spend) to the run's as-of
-- date, or to the latest business date if that is later. The marts' daily and
-- monthly series are cut from it.
with

run_context as {{ not_materialized() }} (

    select * from {{ ref('int_run_context') }}

),

calendar as (

    select cast(calendar_days.date_day as date) as date_day
    from run_context
    cross join
        {{ date_series_rows(
            'run_context.first_business_date',
            'greatest(run_context.as_of_date, run_context.last_business_date)'
        ) }} as calendar_days (date_day)

),

final as (

    select
        calendar.date_day,
        cast(year(calendar.date_day) as integer) as year_number,
        cast(quarter(calendar.date_day) as integer) as quarter_number,
        cast(month(calendar.date_day) as integer) as month_number,
        {{ month_name('calendar.date_day') }} as month_name,
        cast(year(calendar.date_day) as string) || '-'
        || lpad(cast(month(calendar.date_day) as string), 2, '0') as calendar_month,
        cast(dayofmonth(calendar.date_day) as integer) as day_of_month,
        cast(dayofyear(calendar.date_day) as integer) as day_of_year,
        cast({{ iso_day_of_week('calendar.date_day') }} as integer) as iso_day_of_week,
        {{ day_name('calendar.date_day') }} as day_name,
        {{ iso_day_of_week('calendar.date_day') }} >= 6 as is_weekend,
        cast({{ iso_year('calendar.date_day') }} as integer) as iso_year,
        cast(weekofyear(calendar.date_day) as integer) as iso_week,
        cast(date_trunc('week', calendar.date_day) as date) as week_start,
        cast(date_trunc('month', calendar.date_day) as date) as month_start,
        cast(date_trunc('quarter', calendar.date_day) as date) as quarter_start,
        cast(date_trunc('year', calendar.date_day) as date) as year_start,
        cast(
            {{ datetime_diff('day', 'calendar.date_day', 'run_context.as_of_date') }} as integer
        ) as days_before_as_of
    from calendar
    cross join run_context

)

select * from final
