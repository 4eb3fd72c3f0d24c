{#- Seed rows on Spark, read by Spark's own CSV reader. dbt-spark's session connection
    pastes each value between quotes unescaped (a quote in a seed breaks the insert), and
    the agate table dbt reads turns the text 'NULL' into a null; read from the file, a
    value is the text in it and only an empty cell is null, as DuckDB loads a seed. The
    column types are the seed's column_types, else those dbt infers. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set path = model['root_path'] ~ '/' ~ model['original_file_path'] -%}
    {%- set view = this.identifier ~ '__csv' -%}
    {%- do run_query(
        'create or replace temporary view ' ~ view ~ ' using csv options (path '
        ~ string_literal(path) ~ ", header 'true', multiLine 'true', escape '\"')"
    ) -%}
    {%- set sql -%}
        insert into {{ this.render() }}
        select
            {%- for col_name in agate_table.column_names %}
            cast(`{{ col_name }}` as {{ column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) }})
            {{- ',' if not loop.last }}
            {%- endfor %}
        from {{ view }}
    {%- endset -%}
    {%- do run_query(sql) -%}
    {{ return(sql) }}
{% endmacro %}
