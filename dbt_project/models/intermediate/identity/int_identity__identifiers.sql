-- The nodes of the identity graph: every identifier that is not a
-- blocklisted placeholder, when and where it was seen, and the degree cap: an
-- identifier linked to more than var identity_max_strong_links distinct
-- strong identifiers of one type (CRM refs, loyalty ids or emails) is shared
-- (a store tablet, a family device, a placeholder the blocklist misses) and is
-- kept out of the graph.
with

identifier_sightings as (

    select * from {{ ref('int_identity__identifier_sightings') }}

),

identifier_pairs as (

    select * from {{ ref('int_identity__identifier_pairs') }}

),

blocklist as (

    select * from {{ ref('int_identifier_blocklist') }}

),

seen as (

    select *
    from identifier_sightings
    where
        record_count > 0
        and lower(identifier_key) not in (select blocklist.identifier_key from blocklist)

),

links_per_type as (

    select
        identifier_key,
        linked_identifier_type,
        count(*) as linked_count
    from identifier_pairs
    where is_linked_strong
    group by identifier_key, linked_identifier_type

),

degrees as (

    select
        identifier_key,
        max(linked_count) as max_strong_links,
        -- the type with the most links (ties: the first type by name)
        min_by(linked_identifier_type, {{ struct_of({
            'fewer_links': '-linked_count',
            'linked_identifier_type': 'linked_identifier_type',
        }) }}) as max_strong_links_type
    from links_per_type
    group by identifier_key

),

final as (

    select
        seen.identifier_key,
        seen.identifier_type,
        seen.identifier_value,
        seen.is_strong,
        seen.first_seen,
        seen.last_seen,
        seen.sources,
        seen.record_count,
        coalesce(degrees.max_strong_links, 0) as max_strong_links,
        degrees.max_strong_links_type,
        coalesce(
            degrees.max_strong_links > {{ var('identity_max_strong_links') }}, false
        ) as is_degree_capped
    from seen
    left join degrees on seen.identifier_key = degrees.identifier_key

)

select * from final
