{#- Incremental strategy `replace_keys`: a build replaces every row of the keys
    (unique_key) its batch names. The batch holds the new rows of those keys and,
    for a key that is to end with no row (a customer merged into another, a record
    whose key changed), one removal row: the key alone, its `_changed_at` null. A
    removal row is never inserted; every other row carries its build's stamp
    (build_timestamp). delete+insert alone cannot remove a key that has no new row.
    The batch has the table's columns, so the marts' enforced contracts hold for it. -#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if not key or (key is sequence and key is not string) -%}
        {{ exceptions.raise_compiler_error(
            "replace_keys needs unique_key to be one column, got " ~ key
        ) }}
    {%- endif -%}
    {%- set names = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- if '_changed_at' not in names -%}
        {{ exceptions.raise_compiler_error(
            "replace_keys marks removal rows by a null _changed_at: "
            ~ target ~ " has no such column"
        ) }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(names) -%}
    delete from {{ target }}
    where {{ key }} in (select {{ key }} from {{ batch }});

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ batch }}
    where _changed_at is not null
{%- endmacro %}

{#- The last select of a `replace_keys` model: the rows of `relation` (its final
    CTE) and, on an incremental build, a removal row for each key of `removed` (a
    CTE of one column, the table's keys the build recomputes, as the table holds
    them now). -#}
{% macro replace_keys_batch(relation, removed) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}

    union all by name

    select * from {{ removed }}
    {%- endif %}
{%- endmacro %}

{#- When a build wrote a row (a timestamp without zone): the stamp incremental models
    read their changes by; a macro, so unit tests can fix it. -#}
{% macro build_timestamp() -%}
    cast(current_timestamp as timestamp)
{%- endmacro %}
