{#- Latest version per natural key, the contract's rule ("Files are
    immutable"): the latest `version_column` (updated_at) wins; ties, and
    sources without a version column, go to the latest delivery date, then the
    later file name, then the later line. Versions are never mixed: the whole
    winning row is kept.

    The natural key is also the model's `unique_key` config. On an incremental run
    (see new_raw_rows) `relation` holds only the rows ingested since the last
    build; they compete with the rows the model already holds for the same keys,
    and the winners replace those keys (delete+insert): the same winners a full
    build picks from every version, because the table always holds each key's
    winner so far.

    relation:     a CTE name or relation holding _delivery_date, _file, _line
    natural_key:  column name
    version_column: column name, or none -#}
{% macro dedupe_latest(relation, natural_key, version_column=none) -%}
    {%- set key = natural_key -%}
    select *
    from (
        select * from {{ relation }}
        {% if is_incremental() -%}
        union all by name
        select * from {{ this }}
        where ({{ key }}) in (select ({{ key }}) from {{ relation }})
        {%- endif %}
    ) as versions
    qualify row_number() over (
        partition by {{ key }}
        order by
            {% if version_column -%}
            {{ version_column }} desc nulls last,
            {% endif -%}
            _delivery_date desc nulls last,
            _file desc nulls last,
            _line desc nulls last
    ) = 1
{%- endmacro %}


{#- The raw rows a staging model reads: all of them on a full build, those
    ingested after the newest row the model holds (less the lookback window,
    incremental_read_from) on an incremental one. An ingestion high-water mark
    rather than the run's delivery window: rows that a failed run ingested, or a
    day delivered late, are still picked up by the next run. -#}
{% macro new_raw_rows(source_relation) -%}
    select * from {{ source_relation }}
    {% if is_incremental() -%}
    where _ingested_at > (
        select {{ incremental_read_from('max(_ingested_at)') }} from {{ this }}
    )
    {%- endif %}
{%- endmacro %}
