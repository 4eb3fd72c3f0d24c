{#- Net Promoter Score from counts (SQL expressions): 100 × (promoters − detractors) /
    responses, one decimal; null without responses. The classes are
    fct_survey_responses'. -#}
{% macro nps(promoters, detractors, responses) -%}
    cast(
        round(100.0 * ({{ promoters }} - {{ detractors }}) / nullif({{ responses }}, 0), 1)
        as decimal(5, 1)
    )
{%- endmacro %}
