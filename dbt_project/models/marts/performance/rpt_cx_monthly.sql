-- Monthly customer-experience KPIs per touchpoint: survey scores by the survey's
-- touchpoint, service tickets by their contact channel (store is both).
{%- set ticket_categories = ['billing', 'complaint', 'inquiry', 'praise', 'return', 'technical'] %}

{%- set hours_to_close = datetime_diff('second', 'opened_at', 'closed_at') ~ ' / 3600.0' %}
with

survey_responses as (

    select * from {{ ref('fct_survey_responses') }}

),

service_tickets as (

    select * from {{ ref('stg_service__tickets') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

run_context as {{ not_materialized() }} (

    select * from {{ ref('int_run_context') }}

),

surveys as (

    select
        date_trunc('month', response_date) as report_month,
        touchpoint,
        count(*) filter (where survey_type = 'nps') as nps_response_count,
        count(*) filter (where is_nps_promoter) as nps_promoter_count,
        count(*) filter (where is_nps_detractor) as nps_detractor_count,
        count(*) filter (where survey_type = 'csat') as csat_response_count,
        count(*) filter (where is_csat_top2) as csat_top2_count,
        avg(score) filter (where survey_type = 'csat') as csat_mean,
        count(*) filter (where survey_type = 'ces') as ces_response_count,
        avg(score) filter (where survey_type = 'ces') as ces_mean
    from survey_responses
    where response_date <= (select run_context.as_of_date from run_context)
    group by all

),

tickets as (

    select
        date_trunc('month', {{ to_reporting_date('opened_at') }}) as report_month,
        contact_channel as touchpoint,
        count(*) as ticket_count,
        {%- for category in ticket_categories %}
        count(*) filter (where category = '{{ category }}') as {{ category }}_ticket_count,
        {%- endfor %}
        count(*) filter (where reopened_count > 0) as reopened_ticket_count,
        {{ quantile_cont('first_response_minutes', 0.5) }} as first_response_minutes_median,
        {{ quantile_cont('first_response_minutes', 0.9) }} as first_response_minutes_p90,
        {{ quantile_cont(hours_to_close, 0.5) }}
            as resolution_hours_median,
        {{ quantile_cont(hours_to_close, 0.9) }}
            as resolution_hours_p90
    from service_tickets
    where
        {{ to_reporting_date('opened_at') }}
        <= (select run_context.as_of_date from run_context)
    group by all

),

monthly_orders as (

    select
        date_trunc('month', order_date) as report_month,
        count(*) as order_count
    from orders
    where is_purchase
    group by all

),

month_touchpoints as (

    select
        report_month,
        touchpoint
    from surveys
    union
    select
        report_month,
        touchpoint
    from tickets

),

final as (

    select
        cast(month_touchpoints.report_month as date) as report_month,
        month_touchpoints.touchpoint,
        coalesce(surveys.nps_response_count, 0) as nps_response_count,
        {{ nps(
            'surveys.nps_promoter_count',
            'surveys.nps_detractor_count',
            'surveys.nps_response_count'
        ) }} as nps,
        coalesce(surveys.csat_response_count, 0) as csat_response_count,
        cast(
            {{ round_ratio('surveys.csat_top2_count', 'surveys.csat_response_count', 4) }}
            as decimal(8, 4)
        ) as csat_top2_share,
        cast({{ round_double('surveys.csat_mean', 2) }} as decimal(4, 2)) as csat_mean,
        coalesce(surveys.ces_response_count, 0) as ces_response_count,
        cast({{ round_double('surveys.ces_mean', 2) }} as decimal(4, 2)) as ces_mean,
        coalesce(tickets.ticket_count, 0) as ticket_count,
        {%- for category in ticket_categories %}
        coalesce(tickets.{{ category }}_ticket_count, 0) as {{ category }}_ticket_count,
        {%- endfor %}
        cast({{ round_double('tickets.first_response_minutes_median', 1) }} as decimal(12, 1))
            as first_response_minutes_median,
        cast({{ round_double('tickets.first_response_minutes_p90', 1) }} as decimal(12, 1))
            as first_response_minutes_p90,
        cast({{ round_double('tickets.resolution_hours_median', 1) }} as decimal(12, 1))
            as resolution_hours_median,
        cast({{ round_double('tickets.resolution_hours_p90', 1) }} as decimal(12, 1))
            as resolution_hours_p90,
        cast(
            {{ round_ratio('tickets.reopened_ticket_count', 'tickets.ticket_count', 4) }}
            as decimal(8, 4)
        ) as reopen_rate,
        coalesce(monthly_orders.order_count, 0) as month_order_count,
        cast({{ round_ratio(
            '1000.0 * coalesce(tickets.complaint_ticket_count, 0)', 'monthly_orders.order_count', 2
        ) }} as decimal(12, 2)) as complaints_per_1000_orders
    from month_touchpoints
    left join surveys
        on
            month_touchpoints.report_month = surveys.report_month
            and month_touchpoints.touchpoint = surveys.touchpoint
    left join tickets
        on
            month_touchpoints.report_month = tickets.report_month
            and month_touchpoints.touchpoint = tickets.touchpoint
    left join monthly_orders
        on month_touchpoints.report_month = monthly_orders.report_month

)

select * from final
