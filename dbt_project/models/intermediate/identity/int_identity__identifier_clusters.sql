-- Every identifier that resolves to a customer, and that customer's id.
-- Clusters: the strong components; weak identifiers attached to exactly one
-- of them; weak-only components, which join a strong cluster when they touch
-- exactly one through an attached weak identifier and stand alone otherwise.
-- The id is a hash of the cluster's anchor: its earliest-seen strong
-- identifier (a weak-only cluster: its earliest-seen weak one), ties broken
-- by type priority then value. A full rebuild of the same data gives the same
-- ids with no state, and when new data joins two clusters the one whose
-- anchor is older keeps its id.
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

weak_attachments as {{ not_materialized() }} (

    select * from {{ ref('int_identity__weak_attachments') }}

),

weak_components as {{ not_materialized() }} (

    select * from {{ ref('int_identity__weak_components') }}

),

weak_component_reach as (

    select
        weak_components.component_key as weak_component_key,
        weak_attachments.component_key as strong_component_key
    from weak_components
    inner join identifier_pairs
        on weak_components.identifier_key = identifier_pairs.identifier_key
    inner join weak_attachments
        on identifier_pairs.linked_identifier_key = weak_attachments.identifier_key
    where weak_attachments.attachment = 'attached'

),

weak_component_targets as (

    select
        weak_component_key,
        case
            when count(distinct strong_component_key) = 1 then min(strong_component_key)
        end as strong_component_key
    from weak_component_reach
    group by weak_component_key

),

memberships as (

    select
        identifier_key,
        component_key as cluster_key,
        'strong_link' as resolution_rule
    from strong_components

    union all

    select
        identifier_key,
        component_key as cluster_key,
        'weak_attached' as resolution_rule
    from weak_attachments
    where attachment = 'attached'

    union all

    select
        weak_components.identifier_key,
        coalesce(
            weak_component_targets.strong_component_key, weak_components.component_key
        ) as cluster_key,
        case
            when weak_component_targets.strong_component_key is null then 'weak_only'
            else 'weak_via_weak'
        end as resolution_rule
    from weak_components
    left join weak_component_targets
        on weak_components.component_key = weak_component_targets.weak_component_key

),

clustered as (

    select
        memberships.identifier_key,
        memberships.cluster_key,
        memberships.resolution_rule,
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.is_strong,
        identifiers.first_seen,
        identifiers.last_seen,
        identifiers.sources
    from memberships
    inner join identifiers on memberships.identifier_key = identifiers.identifier_key

),

anchors as (

    select
        cluster_key,
        -- strong first, then the earliest seen (never seen last), the type's rank and
        -- the key: the smallest of this struct
        min_by(identifier_key, {{ struct_of({
            'is_weak': 'not is_strong',
            'never_seen': 'first_seen is null',
            'first_seen': "coalesce(first_seen, timestamp '9999-12-31')",
            'type_rank': identifier_type_rank('identifier_type'),
            'identifier_key': 'identifier_key',
        }) }}) as anchor_identifier_key
    from clustered
    group by cluster_key

),

final as (

    select
        clustered.identifier_key,
        clustered.identifier_type,
        clustered.identifier_value,
        {{ customer_id_from_anchor('anchors.anchor_identifier_key') }} as customer_id,
        anchors.anchor_identifier_key,
        clustered.resolution_rule,
        clustered.is_strong,
        clustered.first_seen,
        clustered.last_seen,
        clustered.sources
    from clustered
    inner join anchors on clustered.cluster_key = anchors.cluster_key

)

select * from final
