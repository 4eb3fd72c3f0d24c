{#- How a model that keeps rows between builds (staging's latest versions, identity
    state, the marts kept by key) is built. Incremental where the engine deletes and
    replaces rows: DuckDB. On Spark over plain Parquet, which refuses DELETE, MERGE and
    delete+insert, such a model is rebuilt whole on every build: the same rows as
    a full rebuild on DuckDB, at the cost of reading all of raw each night. On a
    cluster with a table format that deletes (Delta, Iceberg), the incremental
    strategies would need a merge form; that path is not built (README, "Spark"). -#}
{% macro stateful_materialization() -%}
    {{ return(adapter.dispatch('stateful_materialization')()) }}
{%- endmacro %}

{% macro default__stateful_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__stateful_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- A model the Python side reads (the reconciliation) that needs no table of its own on
    DuckDB, where Python queries the same database: a view there. On Spark Python reads
    a model's Parquet files (orchestration/lib/engines.py), which a view has none of. -#}
{% macro python_read_materialization() -%}
    {{ return(adapter.dispatch('python_read_materialization')()) }}
{%- endmacro %}

{% macro default__python_read_materialization() -%}
    {{ return('view') }}
{%- endmacro %}

{% macro spark__python_read_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
