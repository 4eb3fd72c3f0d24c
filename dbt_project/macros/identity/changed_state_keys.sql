{#- The keys (`key`: identifier_key or record_key) an incremental model over `states`
    (int_identity__record_identifier_states) must recompute: on a full build every key
    of `states`; on an incremental one those of the state rows written after the newest
    state the model has read (its _state_written_at, less the lookback window; all of
    them when it holds none). A changed record touches every identifier it carries or
    carried, so recomputing these from the current rows gives what a full build
    gives. -#}
{% macro changed_state_keys(states, key) -%}
    select distinct {{ key }}
    from {{ states }}
    {%- if is_incremental() %}
    where _state_written_at > (
        select {{ incremental_read_from('max(_state_written_at)') }} from {{ this }}
    )
    {%- endif %}
{%- endmacro %}
