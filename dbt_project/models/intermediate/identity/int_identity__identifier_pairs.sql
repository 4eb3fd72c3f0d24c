-- Edges of the identity graph: two identifiers are linked when one record
-- carries both (int_identity__identifier_links). Blocklisted values take no
-- part.
with

identifier_links as (

    select * from {{ ref('int_identity__identifier_links') }}

),

blocklist as (

    select * from {{ ref('int_identifier_blocklist') }}

),

usable_links as (

    select
        identifier_links.identifier_key,
        identifier_links.linked_identifier_key
    from identifier_links
    where
        identifier_links.linked_identifier_key is not null
        and lower(identifier_links.identifier_key) not in (
            select blocklist.identifier_key from blocklist
        )
        and lower(identifier_links.linked_identifier_key) not in (
            select blocklist.identifier_key from blocklist
        )

),

final as (

    select
        identifier_key,
        split_part(identifier_key, ':', 1) as identifier_type,
        {{ is_strong_identifier("split_part(identifier_key, ':', 1)") }} as is_strong,
        linked_identifier_key,
        split_part(linked_identifier_key, ':', 1) as linked_identifier_type,
        {{ is_strong_identifier("split_part(linked_identifier_key, ':', 1)") }} as is_linked_strong
    from usable_links

)

select * from final
