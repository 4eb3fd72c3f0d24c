{#- A model's column rules in one test: no null in each `not_null` column, no value
    below zero in each `not_negative` column, each `accepted_values` column (a mapping
    column -> its values) within its values and each `accepted_range` column (column ->
    {min_value, max_value}, either bound optional) within its bounds; nulls pass all
    but not_null, as in dbt's own tests. One row per broken rule - the column, the rule
    and how many rows break it - and the test's failure count is the number of rows
    that break a rule. One test node for all of a model's columns, in one scan,
    instead of one per column: each test node costs dbt ~80 ms of parsing, compiling
    and bookkeeping (0.6-1 s on Spark) whatever the table's size, which made these
    rules most of a nightly build's test time (docs/benchmarks.md).
    The counts are spread over the rules by a join, not by one select per rule:
    Spark inlines a CTE into each select that reads it, which would scan the model
    once per rule. -#}
{% test column_rules(
    model, not_null=[], not_negative=[], accepted_values={}, accepted_range={}
) %}
    {{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
    {%- set rules = [] -%}
    {%- for column in not_null -%}
        {%- do rules.append(('not_null', column, column ~ ' is null')) -%}
    {%- endfor -%}
    {%- for column in not_negative -%}
        {%- do rules.append(('not_negative', column, column ~ ' < 0')) -%}
    {%- endfor -%}
    {%- for column, values in accepted_values.items() -%}
        {%- set literals = [] -%}
        {%- for value in values -%}
            {%- do literals.append(
                "'" ~ value | replace("'", "''") ~ "'" if value is string else value | string
            ) -%}
        {%- endfor -%}
        {%- do rules.append(
            ('accepted_values', column, column ~ ' not in (' ~ literals | join(', ') ~ ')')
        ) -%}
    {%- endfor -%}
    {%- for column, bounds in accepted_range.items() -%}
        {%- set outside = [] -%}
        {%- if bounds.get('min_value') is not none -%}
            {%- do outside.append(column ~ ' < ' ~ bounds['min_value']) -%}
        {%- endif -%}
        {%- if bounds.get('max_value') is not none -%}
            {%- do outside.append(column ~ ' > ' ~ bounds['max_value']) -%}
        {%- endif -%}
        {%- if not outside -%}
            {{ exceptions.raise_compiler_error(
                "column_rules: accepted_range of " ~ column ~ " has no min_value or max_value"
            ) }}
        {%- endif -%}
        {%- do rules.append(('accepted_range', column, outside | join(' or '))) -%}
    {%- endfor %}
    with

    counts as (

        select
            {%- for _, _, broken in rules %}
            sum(case when {{ broken }} then 1 else 0 end) as rule_{{ loop.index }}
            {{- "," if not loop.last }}
            {%- endfor %}
        from {{ model }}

    ),

    rules as (

        {% for rule, column, _ in rules -%}
        select
            {{ loop.index }} as rule_index,
            '{{ column }}' as column_name,
            '{{ rule }}' as rule
        {% if not loop.last %}union all{% endif %}
        {% endfor %}

    ),

    rule_counts as (

        select
            rules.column_name,
            rules.rule,
            case rules.rule_index
                {%- for _ in rules %}
                when {{ loop.index }} then counts.rule_{{ loop.index }}
                {%- endfor %}
            end as failing_rows
        from counts
        cross join rules

    )

    select * from rule_counts
    where failing_rows > 0
{% endtest %}
