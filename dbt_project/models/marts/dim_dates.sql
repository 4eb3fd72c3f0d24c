-- The calendar as a BI dimension: every reporting date from the first order or
-- touchpoint to the run's as-of date, or to the latest of them if that is later.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

date_bounds as (

    select
        min(first_date) as first_date,
        greatest({{ as_of_date("max(last_date)") }}, max(last_date)) as last_date,
        {{ as_of_date("max(last_date)") }} as as_of_date
    from (
        select
            min(order_date) as first_date,
            max(order_date) as last_date
        from orders
        union all
        select
            min(occurred_date) as first_date,
            max(occurred_date) as last_date
        from touchpoints
    ) as bounds

),

calendar as (

    select cast(calendar_days.date_day as date) as date_day
    from date_bounds
    cross join
        unnest(
            generate_series(date_bounds.first_date, date_bounds.last_date, interval 1 day)
        ) as calendar_days (date_day)

),

final as (

    select
        calendar.date_day,
        cast(year(calendar.date_day) as integer) as year_number,
        cast(quarter(calendar.date_day) as integer) as quarter_number,
        cast(month(calendar.date_day) as integer) as month_number,
        monthname(calendar.date_day) as month_name,
        strftime(calendar.date_day, '%Y-%m') as calendar_month,
        cast(dayofmonth(calendar.date_day) as integer) as day_of_month,
        cast(dayofyear(calendar.date_day) as integer) as day_of_year,
        cast(isodow(calendar.date_day) as integer) as iso_day_of_week,
        dayname(calendar.date_day) as day_name,
        isodow(calendar.date_day) >= 6 as is_weekend,
        cast(isoyear(calendar.date_day) as integer) as iso_year,
        cast(weekofyear(calendar.date_day) as integer) as iso_week,
        cast(date_trunc('week', calendar.date_day) as date) as week_start,
        cast(date_trunc('month', calendar.date_day) as date) as month_start,
        cast(date_trunc('quarter', calendar.date_day) as date) as quarter_start,
        cast(date_trunc('year', calendar.date_day) as date) as year_start,
        cast(date_bounds.as_of_date - calendar.date_day as integer) as days_before_as_of
    from calendar
    cross join date_bounds

)

select * from final
