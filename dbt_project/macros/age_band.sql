{#- A person's age band on `as_of` (SQL date expressions): under 18, 18-24, 25-34,
    35-44, 45-54, 55-64, 65+; unknown without a birth date or an as-of date, or for a
    birth date after `as_of` or more than 120 years before it (a typo, not an age).
    The age is in whole years: a birthday moves a person into the next band on the day
    itself. -#}
{% macro age_band(birth_date, as_of) -%}
    {#- whole years: one less while this year's birthday is still ahead -#}
    {%- set age -%}
        (year({{ as_of }}) - year({{ birth_date }}) - case
            when month({{ as_of }}) * 100 + day({{ as_of }})
                < month({{ birth_date }}) * 100 + day({{ birth_date }})
                then 1
            else 0
        end)
    {%- endset -%}
    case
        when {{ birth_date }} is null
            or {{ as_of }} is null
            or {{ birth_date }} > {{ as_of }}
            or {{ age }} > 120
            then 'unknown'
        when {{ age }} < 18 then 'under 18'
        when {{ age }} < 25 then '18-24'
        when {{ age }} < 35 then '25-34'
        when {{ age }} < 45 then '35-44'
        when {{ age }} < 55 then '45-54'
        when {{ age }} < 65 then '55-64'
        else '65+'
    end
{%- endmacro %}
