{#- Two-sided p-value of a standard-normal statistic (SQL expression z): 2 (1 - Phi(|z|)),
    with Phi by Abramowitz & Stegun 26.2.17 (absolute error under 7.5e-8), from exp and
    sqrt alone so that both engines compute it; null when z is null. -#}
{% macro two_sided_p_value(z) -%}
    {%- set t = '(1.0 / (1.0 + 0.2316419 * abs(' ~ z ~ ')))' -%}
    (
        2.0 * exp(-0.5 * ({{ z }}) * ({{ z }})) / sqrt(2.0 * pi())
        * {{ t }} * (0.319381530 + {{ t }} * (-0.356563782 + {{ t }} * (1.781477937
            + {{ t }} * (-1.821255978 + {{ t }} * 1.330274429))))
    )
{%- endmacro %}
