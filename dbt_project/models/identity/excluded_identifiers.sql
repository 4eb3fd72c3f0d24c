-- Identifiers kept out of the identity graph, with why: a blocklisted
-- placeholder (identifier_blocklist seed), the degree cap (linked to more
-- than var identity_max_strong_links distinct strong identifiers of one
-- type), or a weak identifier seen next to several customers' strong
-- identifiers (a shared device, a store phone). Internal, never published.
with

record_identifiers as (

    select * from {{ ref('int_identity__record_identifiers') }}

),

identifiers as {{ not_materialized() }} (

    select * from {{ ref('int_identity__identifiers') }}

),

weak_attachments as (

    select * from {{ ref('int_identity__weak_attachments') }}

),

blocklisted as (

    select
        identifier_type,
        identifier_value,
        'blocklist' as reason,
        any_value(blocklist_reason) as detail,
        cast(null as bigint) as max_strong_links,
        cast(null as bigint) as linked_customer_count,
        count(distinct record_key) as record_count
    from record_identifiers
    where blocklist_reason is not null
    group by identifier_type, identifier_value

),

degree_capped as (

    select
        identifier_type,
        identifier_value,
        'degree_cap' as reason,
        'linked to ' || max_strong_links || ' distinct ' || max_strong_links_type
        || ' identifiers (cap {{ var("identity_max_strong_links") }})' as detail,
        max_strong_links,
        cast(null as bigint) as linked_customer_count,
        record_count
    from identifiers
    where is_degree_capped

),

ambiguous as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        'links_several_customers' as reason,
        'seen with the strong identifiers of ' || weak_attachments.strong_component_count
        || ' customers' as detail,
        identifiers.max_strong_links,
        weak_attachments.strong_component_count as linked_customer_count,
        identifiers.record_count
    from weak_attachments
    inner join identifiers on weak_attachments.identifier_key = identifiers.identifier_key
    where weak_attachments.attachment = 'ambiguous'

),

final as (

    select * from blocklisted
    union all
    select * from degree_capped
    union all
    select * from ambiguous

)

select * from final
