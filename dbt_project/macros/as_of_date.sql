{#- The run's as-of date (var as_of_date, set by the pipeline) as a date, or
    null when none is given; each model says what it does without one. -#}
{% macro as_of_date() -%}
    cast(nullif('{{ var("as_of_date") }}', '') as date)
{%- endmacro %}
