{#- Identifier normalisation shared by every staging model, so that the same
    person's email or phone compares equal across sources. Each macro returns a
    SQL expression; null means "no usable value". -#}

{#- Trimmed, empty → null: the base of every text identifier. -#}
{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as varchar)), '')
{%- endmacro %}

{%- macro email_pattern() -%}
    '^[^@\s]+@[^@\s]+\.[^@\s]+$'
{%- endmacro %}

{#- Lower-cased and trimmed; null when empty or not shaped like an address. -#}
{% macro normalize_email(column) -%}
    case
        when regexp_full_match(lower({{ clean_text(column) }}), {{ email_pattern() }})
            then lower({{ clean_text(column) }})
    end
{%- endmacro %}

{#- Digits of a phone after removing the usual separators (space, dash, dot,
    parentheses); a leading + survives. -#}
{% macro _phone_digits(column) -%}
    regexp_replace({{ clean_text(column) }}, '[\s\-\.\(\)]', '', 'g')
{%- endmacro %}

{#- E.164 (+<country><number>): 10 digits get the default country code
    (var default_phone_country_code), 11 digits starting with that code get a +,
    a number already written with + is kept when it has 8 to 15 digits;
    anything else is null. -#}
{% macro normalize_phone(column) -%}
    {%- set cc = var('default_phone_country_code') -%}
    case
        when regexp_full_match({{ _phone_digits(column) }}, '\+[1-9][0-9]{7,14}')
            then {{ _phone_digits(column) }}
        when regexp_full_match({{ _phone_digits(column) }}, '[0-9]{10}')
            then '+{{ cc }}' || {{ _phone_digits(column) }}
        when regexp_full_match({{ _phone_digits(column) }}, '{{ cc }}[0-9]{10}')
            then '+' || {{ _phone_digits(column) }}
    end
{%- endmacro %}

{#- `<platform>:<handle>`, lower-cased, the handle's leading @ stripped. -#}
{% macro normalize_social_handle(platform_column, handle_column) -%}
    case
        when {{ clean_text(platform_column) }} is not null
            and nullif(ltrim(lower({{ clean_text(handle_column) }}), '@'), '') is not null
            then lower({{ clean_text(platform_column) }})
                || ':'
                || ltrim(lower({{ clean_text(handle_column) }}), '@')
    end
{%- endmacro %}

{#- True when a non-empty raw value was given but could not be normalised, so a
    bad identifier is visible without keeping the raw value. -#}
{% macro failed_normalization(raw_column, normalized_expression) -%}
    ({{ clean_text(raw_column) }} is not null and ({{ normalized_expression }}) is null)
{%- endmacro %}

{#- ISO-4217 code, upper-cased; the contract's default is USD. -#}
{% macro normalize_currency(column) -%}
    coalesce(upper({{ clean_text(column) }}), 'USD')
{%- endmacro %}

{#- Select-list entries for a normalised email or phone and its failure flag:
    `<kind>` and `<kind>_is_invalid`. -#}
{% macro normalized_identifier(kind, column=none) -%}
    {%- set column = column or kind -%}
    {%- if kind == 'email' -%}
        {%- set normalized = normalize_email(column) -%}
    {%- elif kind == 'phone' -%}
        {%- set normalized = normalize_phone(column) -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("normalized_identifier: no normaliser for kind " ~ kind) }}
    {%- endif -%}
    {{ normalized }} as {{ kind }},
    {{ failed_normalization(column, normalized) }} as {{ kind }}_is_invalid
{%- endmacro %}

{#- Lineage columns every staging model carries from raw. -#}
{% macro lineage_columns() -%}
    cast(_file as varchar) as _file,
    cast(_line as bigint) as _line,
    cast(_delivery_date as date) as _delivery_date,
    cast(_ingested_at as timestamp) as _ingested_at
{%- endmacro %}
