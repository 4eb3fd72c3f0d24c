{#- Table statements that macros run themselves (run_query), outside dbt's
    materializations: replace a table by a query's rows, and rename one within its
    schema. Spark's Parquet tables take no CREATE OR REPLACE. -#}
{% macro run_replace_table(relation, select_sql) -%}
    {{ return(adapter.dispatch('run_replace_table')(relation, select_sql)) }}
{%- endmacro %}

{% macro default__run_replace_table(relation, select_sql) -%}
    {%- do run_query('create or replace table ' ~ relation ~ ' as ' ~ select_sql) -%}
{%- endmacro %}

{% macro spark__run_replace_table(relation, select_sql) -%}
    {%- do run_query('drop table if exists ' ~ relation) -%}
    {%- do run_query('create table ' ~ relation ~ ' as ' ~ select_sql) -%}
{%- endmacro %}

{#- `relation` is schema.identifier; the new name stays in that schema. -#}
{% macro run_rename_table(schema, identifier, new_identifier) -%}
    {{ return(adapter.dispatch('run_rename_table')(schema, identifier, new_identifier)) }}
{%- endmacro %}

{% macro default__run_rename_table(schema, identifier, new_identifier) -%}
    {%- do run_query(
        'alter table ' ~ schema ~ '.' ~ adapter.quote(identifier)
        ~ ' rename to ' ~ adapter.quote(new_identifier)
    ) -%}
{%- endmacro %}

{% macro spark__run_rename_table(schema, identifier, new_identifier) -%}
    {%- do run_query(
        'alter table ' ~ schema ~ '.' ~ adapter.quote(identifier)
        ~ ' rename to ' ~ schema ~ '.' ~ adapter.quote(new_identifier)
    ) -%}
{%- endmacro %}
