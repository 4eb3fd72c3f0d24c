-- Edges of the identity graph: two identifiers are linked when one record
-- carries both. Records with the same identifier set are folded first (a
-- person's hundred orders with one email and one cookie make one set), so the
-- work follows distinct sets, not records. Blocklisted values take no part.
with

record_identifiers as (

    select * from {{ ref('int_identity__record_identifiers') }}

),

usable as (

    select
        record_key,
        identifier_key,
        identifier_type,
        is_strong
    from record_identifiers
    where blocklist_reason is null

),

record_sets as (

    select list_sort(list_distinct(list(identifier_key))) as identifier_keys
    from usable
    group by record_key

),

identifier_sets as (

    select distinct identifier_keys
    from record_sets

),

numbered_sets as (

    select
        row_number() over () as set_id,
        identifier_keys
    from identifier_sets
    where len(identifier_keys) > 1

),

members as (

    select
        set_id,
        unnest(identifier_keys) as identifier_key
    from numbered_sets

),

pairs as (

    select distinct
        members.identifier_key,
        linked.identifier_key as linked_identifier_key
    from members
    inner join members as linked
        on
            members.set_id = linked.set_id
            and members.identifier_key <> linked.identifier_key

),

final as (

    select
        identifier_key,
        split_part(identifier_key, ':', 1) as identifier_type,
        {{ is_strong_identifier("split_part(identifier_key, ':', 1)") }} as is_strong,
        linked_identifier_key,
        split_part(linked_identifier_key, ':', 1) as linked_identifier_type,
        {{ is_strong_identifier("split_part(linked_identifier_key, ':', 1)") }} as is_linked_strong
    from pairs

)

select * from final
