{#- Identifier normalisation shared by every staging model, so that the same
    person's email or phone compares equal across sources. Each macro returns a
    SQL expression; null means "no usable value". -#}

{#- Trimmed, empty → null: the base of every text identifier. -#}
{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as string)), '')
{%- endmacro %}

{%- macro email_pattern() -%}
    {{ string_literal('^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$') }}
{%- endmacro %}

{#- Lower-cased and trimmed; null when empty or not shaped like an address. With var
    email_provider_rules (EMAIL_PROVIDER_RULES=on), the forms a provider documents as one
    mailbox become one address (email_provider_canonical). -#}
{% macro normalize_email(column) -%}
    {%- set address = 'lower(' ~ clean_text(column) ~ ')' -%}
    case
        when {{ regex_full_match(address, email_pattern()) }}
            then
                {%- if var('email_provider_rules') %} {{ email_provider_canonical(address) }}
                {%- else %} {{ address }}
                {%- endif %}
    end
{%- endmacro %}

{#- Providers' documented sub-addressing: Gmail delivers name+tag@ to name@ and ignores dots
    in the name (googlemail.com is gmail.com); Outlook.com, iCloud, Fastmail and Proton
    deliver name+tag@ to name@. Other domains are left as they are: for them a dot or a
    + may make a different mailbox. `address` is lower-cased and shaped like an address
    (exactly one @). -#}
{% macro email_provider_canonical(address) -%}
    {%- set local = "split_part(split_part(" ~ address ~ ", '@', 1), '+', 1)" -%}
    {%- set domain = "split_part(" ~ address ~ ", '@', 2)" -%}
    case
        when {{ local }} = '' then {{ address }}
        when {{ domain }} in ('gmail.com', 'googlemail.com')
            then replace({{ local }}, '.', '') || '@gmail.com'
        when {{ domain }} in (
            'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'icloud.com', 'me.com',
            'mac.com', 'fastmail.com', 'protonmail.com', 'proton.me', 'pm.me'
        )
            then {{ local }} || '@' || {{ domain }}
        else {{ address }}
    end
{%- endmacro %}

{#- E.164 (+<country><number>) of a phone as the lookup/phone_numbers asset parsed it
    with libphonenumber (orchestration/lib/phones.py) in the numbering plan of
    `phone_source`'s region; null when it is no valid number. The lookup holds every
    distinct value as delivered, so this is one equality join. -#}
{% macro normalize_phone(column, phone_source) -%}
    (
        select max(phone_numbers.e164)
        from {{ source('lookup', 'phone_numbers') }} as phone_numbers
        where
            phone_numbers.source_name = '{{ phone_source }}'
            and phone_numbers.raw_value = cast({{ column }} as string)
    )
{%- endmacro %}

{#- `<platform>:<handle>`, lower-cased (the platforms match handles without case; a
    Chinese Weibo name has none), the leading @ stripped, and a profile link of the
    platforms that have them (x.com or twitter.com, instagram.com, facebook.com,
    tiktok.com/@, weibo.com and weibo.com/u/) cut to its handle or numeric id. WeChat
    ids have no public link. -#}
{% macro normalize_social_handle(platform_column, handle_column) -%}
    {%- set handle -%}
        trim(leading '@' from regexp_replace(
            regexp_replace(
                lower({{ clean_text(handle_column) }}),
                {{ string_literal(
                    '^(https?://)?(www\\.|m\\.)?(x|twitter|instagram|facebook|tiktok|weibo)\\.com/(u/|@)?'
                ) }},
                ''
            ),
            '[/?#].*$',
            ''
        ))
    {%- endset -%}
    case
        when {{ clean_text(platform_column) }} is not null
            and nullif({{ handle }}, '') is not null
            then lower({{ clean_text(platform_column) }}) || ':' || {{ handle }}
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
    `<kind>` and `<kind>_is_invalid`. A phone needs the contract source it came from
    (its numbering plan). -#}
{% macro normalized_identifier(kind, column=none, phone_source=none) -%}
    {%- set column = column or kind -%}
    {%- if kind == 'email' -%}
        {%- set normalized = normalize_email(column) -%}
    {%- elif kind == 'phone' -%}
        {%- set normalized = normalize_phone(column, phone_source) -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("normalized_identifier: no normaliser for kind " ~ kind) }}
    {%- endif -%}
    {{ normalized }} as {{ kind }},
    {{ failed_normalization(column, normalized) }} as {{ kind }}_is_invalid
{%- endmacro %}

{#- Lineage columns every staging model carries from raw. -#}
{% macro lineage_columns() -%}
    cast(_file as string) as _file,
    cast(_line as bigint) as _line,
    cast(_delivery_date as date) as _delivery_date,
    cast(_ingested_at as timestamp) as _ingested_at
{%- endmacro %}
