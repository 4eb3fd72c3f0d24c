{#- Latest version per natural key, the contract's rule ("Files are
    immutable"): the latest `version_column` (updated_at) wins; ties, and
    sources without a version column, go to the latest delivery date, then the
    later file name, then the later line. Versions are never mixed: the whole
    winning row is kept.

    relation:     a CTE name or relation holding _delivery_date, _file, _line
    natural_key:  list of column names
    version_column: column name, or none -#}
{% macro dedupe_latest(relation, natural_key, version_column=none) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by {{ natural_key | join(', ') }}
        order by
            {% if version_column -%}
            {{ version_column }} desc nulls last,
            {% endif -%}
            _delivery_date desc nulls last,
            _file desc nulls last,
            _line desc nulls last
    ) = 1
{%- endmacro %}
