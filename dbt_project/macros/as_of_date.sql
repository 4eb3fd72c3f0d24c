{#- The run's as-of date (var as_of_date, set by the pipeline) as a date; without one,
    `fallback` (a SQL expression, e.g. the latest activity or date '9999-12-31' for
    "nothing is cut off"), or null when no fallback is given. -#}
{% macro as_of_date(fallback=none) -%}
    {%- if fallback is none -%}
        cast(nullif('{{ var("as_of_date") }}', '') as date)
    {%- else -%}
        coalesce(cast(nullif('{{ var("as_of_date") }}', '') as date), {{ fallback }})
    {%- endif -%}
{%- endmacro %}
