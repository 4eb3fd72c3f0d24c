{{ config(post_hook="{{ drop_connected_components() }}") }}

-- Clusters formed by strong identifiers alone (CRM ref, loyalty id, email):
-- connected components over the links between them, degree-capped ones left
-- out. Weak identifiers are attached afterwards, so they can never join two
-- of these clusters.
{%- set nodes_sql -%}
    select identifier_key as node_key
    from {{ ref('int_identity__identifiers') }}
    where is_strong and not is_degree_capped
{%- endset -%}

{%- set edges_sql -%}
    select
        pairs.identifier_key as node_key,
        pairs.linked_identifier_key as linked_node_key
    from {{ ref('int_identity__identifier_pairs') }} as pairs
    inner join {{ ref('int_identity__identifiers') }} as a
        on pairs.identifier_key = a.identifier_key
    inner join {{ ref('int_identity__identifiers') }} as b
        on pairs.linked_identifier_key = b.identifier_key
    where
        pairs.is_strong and pairs.is_linked_strong
        and pairs.identifier_key < pairs.linked_identifier_key
        and not a.is_degree_capped and not b.is_degree_capped
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
