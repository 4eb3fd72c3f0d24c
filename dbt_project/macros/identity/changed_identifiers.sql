{#- The identifiers an identifier-level incremental model must recompute: on a full
    build every identifier of `states` (int_identity__record_identifier_states); on
    an incremental one those of the state rows written after the newest state the
    model has read (its _state_written_at, less the lookback window; all of them
    when it holds none). A changed record touches every identifier it carries or
    carried, so recomputing these from the current rows gives what a full build
    gives. -#}
{% macro changed_identifiers(states) -%}
    select distinct identifier_key
    from {{ states }}
    {%- if is_incremental() %}
    where _state_written_at > (
        select {{ incremental_read_from('max(_state_written_at)') }} from {{ this }}
    )
    {%- endif %}
{%- endmacro %}
