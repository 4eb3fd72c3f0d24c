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
