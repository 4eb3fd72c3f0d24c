{#- Provisional customer id of a record: its strongest identifier, namespaced by
    type. The CRM id wins, then loyalty id, email, phone, cookie, device, card
    hash and social handle; a placeholder listed in int_identifier_blocklist is
    skipped. Null when the record carries none. The identity-resolution model
    replaces this rule; it lives here alone so that it is replaced once.

    Arguments name the record's columns; pass none for a column the record
    does not have. -#}
{% macro provisional_customer_id(
    customer_ref='customer_ref',
    loyalty_id='loyalty_id',
    email='email',
    phone='phone',
    cookie_id='cookie_id',
    device_id='device_id',
    card_hash='card_hash',
    social_handle='social_handle'
) -%}
    {%- set candidates = [
        ('crm', customer_ref),
        ('loyalty', loyalty_id),
        ('email', email),
        ('phone', phone),
        ('cookie', cookie_id),
        ('device', device_id),
        ('card', card_hash),
        ('social', social_handle),
    ] -%}
    coalesce(
        {%- for prefix, column in candidates if column %}
        case
            when '{{ prefix }}:' || {{ column }} not in (
                select blocked.identifier_key from {{ ref('int_identifier_blocklist') }} as blocked
            )
                then '{{ prefix }}:' || {{ column }}
        end,
        {%- endfor %}
        null
    )
{%- endmacro %}

{#- The identifier namespaces above, by contract identifier kind: used by
    int_identifier_blocklist so both sides build keys the same way. -#}
{% macro identifier_prefixes() -%}
    {{ return({
        'customer_ref': 'crm',
        'loyalty_id': 'loyalty',
        'email': 'email',
        'phone': 'phone',
        'cookie_id': 'cookie',
        'device_id': 'device',
        'card_hash': 'card',
        'social_handle': 'social',
    }) }}
{%- endmacro %}
