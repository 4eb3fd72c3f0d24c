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
    record, or all of them, is recomputed too. -#}
{% macro changed_customers(changes) -%}
    select customer_id
    from {{ changes }}
    where
        _changed_at > (select {{ incremental_read_from('max(_changed_at)') }} from {{ this }})
        and customer_id is not null

    union

    select previous_customer_id
    from {{ changes }}
    where
        _changed_at > (select {{ incremental_read_from('max(_changed_at)') }} from {{ this }})
        and previous_customer_id is not null
{%- endmacro %}
