{#- Models land in the plain custom schema (`staging`, `marts`, ...), not
    `<target schema>_<custom schema>`: the warehouse layout is the same in every
    environment because each environment has its own DuckDB file. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
