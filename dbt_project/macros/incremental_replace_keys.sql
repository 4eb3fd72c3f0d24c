{#- Incremental strategy `replace_keys`: a build replaces every row of the keys
    (unique_key) its batch names. The batch holds the new rows of those keys and,
    for a key that is to end with no row (a customer merged into another, a record
    whose key changed), one removal row: the key and `_is_removal` true, which is
    never inserted. delete+insert alone cannot remove a key that has no new row.
    The model's incremental branch adds `_is_removal` (false on its rows); the table
    has no such column (its full build does not select it), so on_schema_change
    must stay `ignore`. -#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if not key or (key is sequence and key is not string) -%}
        {{ exceptions.raise_compiler_error(
            "replace_keys needs unique_key to be one column, got " ~ key
        ) }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ key }} in (select {{ key }} from {{ batch }});

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ batch }}
    where not _is_removal
{%- endmacro %}

{#- The last select of a `replace_keys` model: the rows of `relation` (its final
    CTE) and, on an incremental build, a removal row for each key of `removed` (a
    CTE of one column, the table's keys the build recomputes, as the table holds
    them now). -#}
{% macro replace_keys_batch(relation, removed) -%}
    {%- if is_incremental() -%}
    select
        *,
        false as _is_removal
    from {{ relation }}

    union all by name

    select
        *,
        true as _is_removal
    from {{ removed }}
    {%- else -%}
    select * from {{ relation }}
    {%- endif %}
{%- endmacro %}
