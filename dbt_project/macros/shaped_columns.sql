{#- Select-list entries giving every column of a shared shape, in the shape's order:
    what `given` lists for a column (a column name, or `<expression> as <name>`), else
    a null of the column's type. CTEs written with it line up, so they stack with a
    plain `union all`, which matches columns by position on every engine. `shape` is a
    dict of column name to type; a name in `given` that the shape lacks is an error. -#}
{% macro shaped_columns(shape, given) -%}
    {%- set expressions = {} -%}
    {%- for entry in given -%}
        {%- set parts = entry.rsplit(' as ', 1) -%}
        {%- set name = parts[-1] | trim -%}
        {%- if name not in shape -%}
            {{ exceptions.raise_compiler_error("shaped_columns: " ~ name ~ " is not in the shape") }}
        {%- endif -%}
        {%- do expressions.update({name: parts[0] | trim}) -%}
    {%- endfor -%}
    {%- for name, type in shape.items() %}
        {{ expressions.get(name, 'cast(null as ' ~ type ~ ')') }} as {{ name }}
        {{- ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
