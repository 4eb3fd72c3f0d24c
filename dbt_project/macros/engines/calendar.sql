{#- Calendar parts of a date that DuckDB and Spark name differently: the English
    month and day names, the ISO day of the week (Monday 1) and the ISO week-year. -#}
{% macro month_name(date) -%}
    {{ return(adapter.dispatch('month_name')(date)) }}
{%- endmacro %}

{% macro default__month_name(date) -%}
    monthname({{ date }})
{%- endmacro %}

{% macro spark__month_name(date) -%}
    date_format({{ date }}, 'MMMM')
{%- endmacro %}

{% macro day_name(date) -%}
    {{ return(adapter.dispatch('day_name')(date)) }}
{%- endmacro %}

{% macro default__day_name(date) -%}
    dayname({{ date }})
{%- endmacro %}

{% macro spark__day_name(date) -%}
    date_format({{ date }}, 'EEEE')
{%- endmacro %}

{% macro iso_day_of_week(date) -%}
    {{ return(adapter.dispatch('iso_day_of_week')(date)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date) -%}
    isodow({{ date }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date) -%}
    extract(dayofweek_iso from {{ date }})
{%- endmacro %}

{% macro iso_year(date) -%}
    {{ return(adapter.dispatch('iso_year')(date)) }}
{%- endmacro %}

{% macro default__iso_year(date) -%}
    isoyear({{ date }})
{%- endmacro %}

{% macro spark__iso_year(date) -%}
    extract(yearofweek from {{ date }})
{%- endmacro %}
