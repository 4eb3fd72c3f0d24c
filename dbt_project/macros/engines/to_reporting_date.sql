{#- Calendar date of a UTC timestamp (raw stores naive UTC) in the reporting
    time zone, var reporting_tz. -#}
{% macro to_reporting_date(utc_timestamp) -%}
    {{ return(adapter.dispatch('to_reporting_date')(utc_timestamp)) }}
{%- endmacro %}

{% macro default__to_reporting_date(utc_timestamp) -%}
    cast(timezone('{{ var("reporting_tz") }}', timezone('UTC', {{ utc_timestamp }})) as date)
{%- endmacro %}

{#- Spark's timestamps are instants shown in the session zone (UTC, profiles.yml). -#}
{% macro spark__to_reporting_date(utc_timestamp) -%}
    cast(from_utc_timestamp({{ utc_timestamp }}, '{{ var("reporting_tz") }}') as date)
{%- endmacro %}
