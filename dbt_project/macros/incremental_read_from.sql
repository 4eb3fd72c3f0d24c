{#- Where an incremental model starts reading: `newest`, the newest ingestion or
    state time it has read (null when it holds none: everything), less the
    lookback window, var incremental_lookback_hours. The window takes again the
    rows stamped a little before what was already read: a clock set back, or a
    writer that stamped its rows before an earlier-stamped read committed. Reading
    a row again changes nothing: every incremental model replaces its keys with
    what a full build gives them. -#}
{% macro incremental_read_from(newest) -%}
    coalesce({{ newest }}, timestamp '1970-01-01')
    - interval '{{ int_var("incremental_lookback_hours", 0) }} hours'
{%- endmacro %}

{#- The customers a customer-grain incremental model recomputes: those of the
    record-resolution feed rows (int_source_record_changes) written after the
    newest row the model holds (its _changed_at, less the lookback window) - each
    record's customer now and the one it had before, so a customer that lost a
    record, or all of them, is recomputed too. On an incremental build, the CTEs
    `changed_customers` and `rewritten_rows` (the customers of the model's own
    table that replace_keys_batch replaces or removes), each followed by a comma;
    nothing on a full build. The model names the feed in a depends_on comment. -#}
{% macro changed_customer_ctes() -%}
{%- if is_incremental() %}
changed_customers as (

    select customer_id
    from {{ ref('int_source_record_changes') }}
    where
        _changed_at > (select {{ incremental_read_from('max(_changed_at)') }} from {{ this }})
        and customer_id is not null

    union

    select previous_customer_id
    from {{ ref('int_source_record_changes') }}
    where
        _changed_at > (select {{ incremental_read_from('max(_changed_at)') }} from {{ this }})
        and previous_customer_id is not null

),

rewritten_rows as (

    select distinct customer_id
    from {{ this }}
    where customer_id in (select changed_customers.customer_id from changed_customers)

),
{%- endif %}
{%- endmacro %}

{#- An import CTE's filter to the customers of changed_customer_ctes, on an
    incremental build. -#}
{% macro of_changed_customers() -%}
{%- if is_incremental() %}
    where customer_id in (select changed_customers.customer_id from changed_customers)
{%- endif %}
{%- endmacro %}
