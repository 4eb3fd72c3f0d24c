{#- Identifier namespaces that decide identity (CRM ref, loyalty id, email):
    they link to each other freely. The others (phone, cookie, device, card,
    social) are weak: they only attach to a customer the strong ones formed. -#}
{% macro strong_identifier_types() -%}
    {{ return(['crm', 'loyalty', 'email']) }}
{%- endmacro %}

{#- SQL boolean: is the namespace in `type_column` a strong one. -#}
{% macro is_strong_identifier(type_column) -%}
    ({{ type_column }} in ('{{ strong_identifier_types() | join("', '") }}'))
{%- endmacro %}

{#- SQL integer: priority of a namespace, 1 = strongest, in the order of
    identifier_namespaces() (crm, loyalty, email, phone, cookie, device, card,
    social). Breaks ties between identifiers seen at the same time. -#}
{% macro identifier_type_rank(type_column) -%}
    case {{ type_column }}
        {%- for _, namespace in identifier_namespaces() %}
        when '{{ namespace }}' then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Customer id of a cluster from its anchor identifier key: `C` and 16 hex
    digits of its sha256, so the same anchor gives the same id in every run
    and every full rebuild, with no state. -#}
{% macro customer_id_from_anchor(anchor_key_column) -%}
    'C' || left({{ sha256_hex(anchor_key_column) }}, 16)
{%- endmacro %}

{#- Statement for a post_hook: drop the result table connected_components()
    left for the model to read. -#}
{% macro drop_connected_components() -%}
    drop table if exists {{ this.schema }}.{{ adapter.quote(this.identifier ~ '__cc_result') }}
{%- endmacro %}
