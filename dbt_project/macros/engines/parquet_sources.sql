{#- Sources on an engine other than DuckDB. The tables Python writes (raw, lookup, ml)
    live in the DuckDB warehouse; orchestration/lib/parquet_mirror.py copies them to
    Parquet under $PARQUET_DIR/<schema>/<table>, and on Spark every dbt
    invocation makes each such directory it reads a view, its columns and delivery days read
    from the files. -#}
{#- Set by the Python side (Settings.parquet_dir, through dbt_env; `cli env` for dbt
    by hand). -#}
{% macro parquet_dir() -%}
    {{ env_var('PARQUET_DIR') }}
{%- endmacro %}

{% macro register_parquet_sources() -%}
    {{ return(adapter.dispatch('register_parquet_sources')()) }}
{%- endmacro %}

{% macro default__register_parquet_sources() -%}
{%- endmacro %}

{#- Only the sources the selected nodes read: a night's second dbt step reads the ml
    tables, not raw, and each view costs a schema inference and a metastore write. -#}
{% macro spark__register_parquet_sources() -%}
    {%- if execute -%}
        {%- set read = [] -%}
        {%- for node in graph.nodes.values() if node.unique_id in selected_resources -%}
            {%- do read.extend(node.depends_on.nodes) -%}
        {%- endfor -%}
        {%- for source in graph.sources.values()
            if source.source_name in ('raw', 'lookup', 'ml') and source.unique_id in read -%}
            {%- do run_query('create schema if not exists ' ~ source.schema) -%}
            {%- do run_query(
                'create or replace view ' ~ source.schema ~ '.' ~ source.identifier
                ~ ' as select * from parquet.`' ~ parquet_dir() ~ '/' ~ source.schema
                ~ '/' ~ source.identifier ~ '`'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
