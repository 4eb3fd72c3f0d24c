{#- A model's column rules in one test: no null in each `not_null` column, no value
    below zero in each `not_negative` column (nulls pass that one). One row per
    broken rule - the column, the rule and how many rows break it - and the test's
    failure count is the number of rows that break a rule. One test node for all
    of a model's columns, in one scan, instead of one per column: each test node
    costs dbt ~80 ms of compiling and bookkeeping whatever the table's size, which
    made these two rules most of a nightly build's test time (docs/benchmarks.md).
    The counts are spread over the rules by a join, not by one select per rule:
    Spark inlines a CTE into each select that reads it, which would scan the model
    once per rule. -#}
{% test column_rules(model, not_null=[], not_negative=[]) %}
    {{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
    {%- set rules = [] -%}
    {%- for column in not_null -%}
        {%- do rules.append(('not_null', column, column ~ ' is null')) -%}
    {%- endfor -%}
    {%- for column in not_negative -%}
        {%- do rules.append(('not_negative', column, column ~ ' < 0')) -%}
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
