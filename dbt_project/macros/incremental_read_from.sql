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
