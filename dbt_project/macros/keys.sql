{#- One text key from several columns joined with '|'. A null part becomes the
    empty string rather than vanishing, so (a, null, b) and (a, b, null) stay
    distinct. -#}
{% macro composite_key(columns) -%}
    {%- for column in columns -%}
        coalesce(cast({{ column }} as string), '')
        {%- if not loop.last %} || '|' || {% endif -%}
    {%- endfor -%}
{%- endmacro %}
