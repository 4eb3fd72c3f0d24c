{#- Identifier columns (contract identifier kinds) and the namespace each
    gets in a customer/identifier key, strongest first. -#}
{% macro identifier_namespaces() -%}
    {{ return([
        ['customer_ref', 'crm'],
        ['loyalty_id', 'loyalty'],
        ['email', 'email'],
        ['phone', 'phone'],
        ['cookie_id', 'cookie'],
        ['device_id', 'device'],
        ['card_hash', 'card'],
        ['social_handle', 'social'],
    ]) }}
{%- endmacro %}

{#- Provisional customer id of a record: its strongest identifier, namespaced
    (`crm:<customer_ref>`, else `loyalty:<id>`, `email:<address>`,
    `phone:<e164>`, `cookie:`, `device:`, `card:`, `social:`), skipping
    placeholders listed in int_identifier_blocklist; null when the record has
    none. Expects the normalised identifier columns of identifier_namespaces()
    on the row (`columns` names the ones present; default all). Keys compare
    lower-cased, like the blocklist's. The identity-resolution model replaces
    this rule, which lives here alone so that it is replaced once. -#}
{% macro provisional_customer_id(columns=none) -%}
    coalesce(
        {%- for column, namespace in identifier_namespaces()
            if columns is none or column in columns %}
            case
                when lower('{{ namespace }}:' || {{ column }}) not in (
                    select blocked.identifier_key
                    from {{ ref('int_identifier_blocklist') }} as blocked
                )
                    then '{{ namespace }}:' || {{ column }}
            end,
        {%- endfor %}
        null
    )
{%- endmacro %}
