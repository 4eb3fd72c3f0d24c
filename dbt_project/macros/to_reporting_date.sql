{#- Calendar date of a UTC timestamp (raw stores naive UTC) in the reporting
    time zone, var reporting_tz. -#}
{% macro to_reporting_date(utc_timestamp) -%}
    cast(timezone('{{ var("reporting_tz") }}', timezone('UTC', {{ utc_timestamp }})) as date)
{%- endmacro %}
