{#- A person's age band on `as_of` (SQL date expressions): under 18, 18-24, 25-34,
    35-44, 45-54, 55-64, 65+; unknown without a birth date or an as-of date, or for a
    birth date after `as_of` or more than 120 years before it (a typo, not an age).
    The age is in whole years: a birthday moves a person into the next band on the day
    itself. -#}
{% macro age_band(birth_date, as_of) -%}
    case
        when {{ birth_date }} is null
            or {{ as_of }} is null
            or {{ birth_date }} > {{ as_of }}
            or date_part('year', age({{ as_of }}, {{ birth_date }})) > 120
            then 'unknown'
        when date_part('year', age({{ as_of }}, {{ birth_date }})) < 18 then 'under 18'
        when date_part('year', age({{ as_of }}, {{ birth_date }})) < 25 then '18-24'
        when date_part('year', age({{ as_of }}, {{ birth_date }})) < 35 then '25-34'
        when date_part('year', age({{ as_of }}, {{ birth_date }})) < 45 then '35-44'
        when date_part('year', age({{ as_of }}, {{ birth_date }})) < 55 then '45-54'
        when date_part('year', age({{ as_of }}, {{ birth_date }})) < 65 then '55-64'
        else '65+'
    end
{%- endmacro %}
