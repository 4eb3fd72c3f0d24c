{{ config(post_hook="{{ drop_connected_components() }}") }}

-- Weak-only clusters: connected components over the links between weak
-- identifiers that reach no strong cluster (a guest's card and phone at the
-- till). Ambiguous and degree-capped identifiers take no part.
{%- set nodes_sql -%}
    select identifier_key as node_key
    from {{ ref('int_identity__weak_attachments') }}
    where attachment = 'unattached'
{%- endset -%}

{%- set edges_sql -%}
    select
        pairs.identifier_key as node_key,
        pairs.linked_identifier_key as linked_node_key
    from {{ ref('int_identity__identifier_pairs') }} as pairs
    inner join {{ ref('int_identity__weak_attachments') }} as a
        on pairs.identifier_key = a.identifier_key
    inner join {{ ref('int_identity__weak_attachments') }} as b
        on pairs.linked_identifier_key = b.identifier_key
    where
        a.attachment = 'unattached' and b.attachment = 'unattached'
        and pairs.identifier_key < pairs.linked_identifier_key
{%- endset %}

with

components as (

    select * from {{ connected_components(nodes_sql, edges_sql) }}

),

final as (

    select
        node_key as identifier_key,
        component_key
    from components

)

select * from final
