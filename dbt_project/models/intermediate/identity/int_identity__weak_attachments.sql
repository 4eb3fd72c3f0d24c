-- Rule priority: a weak identifier (phone, cookie, device, card, social)
-- attaches to a strong cluster only when every record that carries it next
-- to a strong identifier points to that one cluster. Reaching two or more is
-- a shared value (a family tablet, a store phone) and it joins nobody;
-- reaching none leaves it to form weak-only clusters.
with

identifiers as (

    select * from {{ ref('int_identity__identifiers') }}

),

identifier_pairs as (

    select * from {{ ref('int_identity__identifier_pairs') }}

),

strong_components as (

    select * from {{ ref('int_identity__strong_components') }}

),

weak_identifiers as (

    select identifier_key
    from identifiers
    where not is_strong and not is_degree_capped

),

reached as (

    select
        identifier_pairs.identifier_key,
        strong_components.component_key
    from identifier_pairs
    inner join strong_components
        on identifier_pairs.linked_identifier_key = strong_components.identifier_key

),

final as (

    select
        weak_identifiers.identifier_key,
        count(distinct reached.component_key) as strong_component_count,
        case
            when count(distinct reached.component_key) = 1 then min(reached.component_key)
        end as component_key,
        case count(distinct reached.component_key)
            when 0 then 'unattached'
            when 1 then 'attached'
            else 'ambiguous'
        end as attachment
    from weak_identifiers
    left join reached on weak_identifiers.identifier_key = reached.identifier_key
    group by weak_identifiers.identifier_key

)

select * from final
