{#- SQL whose spelling differs between DuckDB (default__) and Spark (spark__). Models
    call these; everything else they write runs on both engines. -#}

{#- `text` (a Jinja string) as an SQL string literal. DuckDB keeps backslashes as
    written; Spark reads them as escapes (a regex '\s' would become 's'), so there
    they are doubled. -#}
{% macro string_literal(text) -%}
    {{ return(adapter.dispatch('string_literal')(text)) }}
{%- endmacro %}

{% macro default__string_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__string_literal(text) -%}
    '{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- True when the whole of `text` matches `pattern`. -#}
{% macro regex_full_match(text, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match')(text, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(text, pattern) -%}
    regexp_full_match({{ text }}, {{ pattern }})
{%- endmacro %}

{% macro spark__regex_full_match(text, pattern) -%}
    regexp({{ text }}, '^(?:' || {{ pattern }} || ')$')
{%- endmacro %}

{#- The non-null `value`s of a group (of its rows where `where` holds) joined by
    `separator`, in the order of `order_by`; with `distinct`, each value once, in its
    own order. Null when there is none. -#}
{% macro string_agg_ordered(value, separator, order_by=none, distinct=false, where=none) -%}
    {%- if distinct and order_by is not none -%}
        {{ exceptions.raise_compiler_error("string_agg_ordered: distinct values sort by themselves") }}
    {%- endif -%}
    {{ return(adapter.dispatch('string_agg_ordered')(value, separator, order_by, distinct, where)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(value, separator, order_by, distinct, where) -%}
    string_agg({{ 'distinct ' if distinct }}{{ value }}, {{ separator }} order by {{ order_by if order_by is not none else value }})
    {%- if where is not none %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{#- collect_set/collect_list skip nulls; the list is sorted by (order_by, value). -#}
{% macro spark__string_agg_ordered(value, separator, order_by, distinct, where) -%}
    {%- set filter = ' filter (where ' ~ where ~ ')' if where is not none else '' -%}
    {%- if distinct -%}
        nullif(array_join(array_sort(collect_set({{ value }}){{ filter }}), {{ separator }}), '')
    {%- else -%}
        nullif(array_join(transform(
            array_sort(
                collect_list(named_struct('order_by', {{ order_by }}, 'value', {{ value }})){{ filter }}
            ),
            item -> item.value
        ), {{ separator }}), '')
    {%- endif -%}
{%- endmacro %}

{#- A CTE DuckDB inlines where it is read rather than computing it once (`name as
    {{ not_materialized() }} (`): DuckDB materializes a CTE read more than once, which
    costs more than scanning again when the reads filter it. Spark always inlines. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro spark__not_materialized() -%}
{%- endmacro %}

{#- A struct of named fields, from a dict of field name to SQL expression; structs
    compare field by field, so max() of one picks by its first field. -#}
{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of')(fields)) }}
{%- endmacro %}

{% macro default__struct_of(fields) -%}
    { {%- for name, expression in fields.items() %}'{{ name }}': {{ expression }}{{ ', ' if not loop.last }}{% endfor -%} }
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
    named_struct({%- for name, expression in fields.items() %}'{{ name }}', {{ expression }}{{ ', ' if not loop.last }}{% endfor -%})
{%- endmacro %}

{#- Lists: the sorted list of a group's non-null values, a list's length, and a
    list's elements as rows (in a select list, one row per element). -#}
{% macro sorted_list_agg(value) -%}
    {{ return(adapter.dispatch('sorted_list_agg')(value)) }}
{%- endmacro %}

{% macro default__sorted_list_agg(value) -%}
    list_sort(list({{ value }}))
{%- endmacro %}

{% macro spark__sorted_list_agg(value) -%}
    array_sort(collect_list({{ value }}))
{%- endmacro %}

{% macro list_size(list) -%}
    {{ return(adapter.dispatch('list_size')(list)) }}
{%- endmacro %}

{% macro default__list_size(list) -%}
    len({{ list }})
{%- endmacro %}

{% macro spark__list_size(list) -%}
    size({{ list }})
{%- endmacro %}

{% macro unnest_list(list) -%}
    {{ return(adapter.dispatch('unnest_list')(list)) }}
{%- endmacro %}

{% macro default__unnest_list(list) -%}
    unnest({{ list }})
{%- endmacro %}

{% macro spark__unnest_list(list) -%}
    explode({{ list }})
{%- endmacro %}

{#- Lower-case hex SHA-256 of a string. -#}
{% macro sha256_hex(text) -%}
    {{ return(adapter.dispatch('sha256_hex')(text)) }}
{%- endmacro %}

{% macro default__sha256_hex(text) -%}
    sha256({{ text }})
{%- endmacro %}

{% macro spark__sha256_hex(text) -%}
    sha2({{ text }}, 256)
{%- endmacro %}

{#- Whole `unit`s (day, month, second) from `start` to `end`: boundaries crossed on
    DuckDB, whole units elapsed on Spark; the same for the dates, month starts and
    whole-second timestamps the models pass. -#}
{% macro datetime_diff(unit, start, end) -%}
    {{ return(adapter.dispatch('datetime_diff')(unit, start, end)) }}
{%- endmacro %}

{% macro default__datetime_diff(unit, start, end) -%}
    date_diff('{{ unit }}', {{ start }}, {{ end }})
{%- endmacro %}

{% macro spark__datetime_diff(unit, start, end) -%}
    date_diff({{ unit | upper }}, {{ start }}, {{ end }})
{%- endmacro %}

{#- A timestamp `days` days later (a count, possibly a column). -#}
{% macro plus_days(timestamp, days) -%}
    {{ return(adapter.dispatch('plus_days')(timestamp, days)) }}
{%- endmacro %}

{% macro default__plus_days(timestamp, days) -%}
    ({{ timestamp }} + to_days({{ days }}))
{%- endmacro %}

{% macro spark__plus_days(timestamp, days) -%}
    timestampadd(DAY, {{ days }}, {{ timestamp }})
{%- endmacro %}

{#- The date `months` months after a date (a count, possibly a column; the day is kept,
    or the month's last day when it has fewer). -#}
{% macro plus_months(date, months) -%}
    {{ return(adapter.dispatch('plus_months')(date, months)) }}
{%- endmacro %}

{% macro default__plus_months(date, months) -%}
    cast({{ date }} + to_months(cast({{ months }} as integer)) as date)
{%- endmacro %}

{% macro spark__plus_months(date, months) -%}
    add_months({{ date }}, cast({{ months }} as integer))
{%- endmacro %}

{#- One row per day from `start` to `end` (dates): a FROM item, to alias with a column
    name (`cross join {{ date_series_rows(a, b) }} as days (day)`). -#}
{% macro date_series_rows(start, end) -%}
    {{ return(adapter.dispatch('date_series_rows')(start, end)) }}
{%- endmacro %}

{% macro default__date_series_rows(start, end) -%}
    unnest(generate_series({{ start }}, {{ end }}, interval 1 day))
{%- endmacro %}

{% macro spark__date_series_rows(start, end) -%}
    lateral explode(sequence({{ start }}, {{ end }}, interval 1 day))
{%- endmacro %}

{#- The `fraction` quantile of a group's values, interpolated linearly as DuckDB
    does: with the values sorted, p = fraction x (n - 1) and d = p - floor(p),
    (1 - d) x the value at floor(p) + d x the value at ceil(p). Spark's percentile
    computes lo + d x (hi - lo), which differs in the last bits and so, rounded, on
    a tie. -#}
{% macro quantile_cont(value, fraction) -%}
    {{ return(adapter.dispatch('quantile_cont')(value, fraction)) }}
{%- endmacro %}

{% macro default__quantile_cont(value, fraction) -%}
    quantile_cont({{ value }}, {{ fraction }})
{%- endmacro %}

{% macro spark__quantile_cont(value, fraction) -%}
    {%- set position = 'cast(' ~ fraction ~ ' as double) * (size(sorted) - 1)' -%}
    transform(
        array(array_sort(collect_list(cast({{ value }} as double)))),
        sorted -> (1 - ({{ position }} - floor({{ position }})))
            * sorted[cast(floor({{ position }}) as int)]
            + ({{ position }} - floor({{ position }})) * sorted[cast(ceil({{ position }}) as int)]
    )[0]
{%- endmacro %}

{#- A double rounded to `digits` places half away from zero, as DuckDB rounds one:
    round(x x 10^d) / 10^d. Spark rounds a double by its shortest decimal form, so a
    value just below a tie (3153.05 is 3153.04999...) would go up there. -#}
{% macro round_double(value, digits) -%}
    {{ return(adapter.dispatch('round_double')(value, digits)) }}
{%- endmacro %}

{% macro default__round_double(value, digits) -%}
    round({{ value }}, {{ digits }})
{%- endmacro %}

{% macro spark__round_double(value, digits) -%}
    {%- set scaled = '(cast(' ~ value ~ ' as double) * 1e' ~ digits ~ ')' -%}
    (sign({{ scaled }}) * floor(abs({{ scaled }}) + 0.5) / 1e{{ digits }})
{%- endmacro %}

{#- numerator / denominator (null when it is 0) as a double, rounded by round_double:
    Spark would divide decimals exactly, DuckDB divides in doubles. -#}
{% macro round_ratio(numerator, denominator, digits) -%}
    {{ return(round_double(
        'cast(' ~ numerator ~ ' as double) / nullif(' ~ denominator ~ ', 0)', digits
    )) }}
{%- endmacro %}
