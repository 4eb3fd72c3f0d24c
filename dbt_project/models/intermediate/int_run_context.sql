{{ config(materialized='table') }}

-- The run's dates in one row, read by every model that cuts at the as-of date and by
-- the calendar (dim_dates): the as-of date is var as_of_date, which the pipeline
-- always passes; a bare dbt run without one cuts at the latest business date loaded,
-- so nothing is left out.
with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

marketing_spend as (

    select * from {{ ref('stg_marketing__spend') }}

),

business_dates as (

    -- the reporting date is monotonic in the UTC timestamp: convert the bounds only
    select
        {{ to_reporting_date('min(occurred_at)') }} as first_date,
        {{ to_reporting_date('max(occurred_at)') }} as last_date
    from touchpoints
    union all
    select
        min(spend_date) as first_date,
        max(spend_date) as last_date
    from marketing_spend

),

final as (

    select
        coalesce(
            cast(nullif('{{ var("as_of_date") }}', '') as date), max(last_date)
        ) as as_of_date,
        min(first_date) as first_business_date,
        max(last_date) as last_business_date
    from business_dates

)

select * from final
