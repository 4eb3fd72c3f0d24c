-- The identity graph's raw material: each normalised identifier a record
-- carries, namespaced. Records are every customer-facing record (latest
-- versions, int_touchpoints_unioned), which get a customer, plus every CRM
-- profile version, which only contributes links. Blocklisted placeholders
-- are kept here, flagged, so they can be counted.
with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

crm_profile_versions as (

    select * from {{ ref('int_identity__crm_profile_versions') }}

),

blocklist as (

    select * from {{ ref('int_identifier_blocklist') }}

),

records as (

    select
        touchpoint_key as record_key,
        source,
        source_record_id,
        true as is_resolved_record,
        occurred_at,
        customer_ref,
        loyalty_id,
        email,
        phone,
        cookie_id,
        device_id,
        card_hash,
        social_handle
    from touchpoints

    union all by name

    select
        'crm_customers:' || customer_ref || '@' || _file || ':' || _line as record_key,
        'crm_customers' as source,
        customer_ref as source_record_id,
        false as is_resolved_record,
        updated_at as occurred_at,
        customer_ref,
        loyalty_id,
        email,
        phone
    from crm_profile_versions
    where customer_ref is not null

),

record_identifiers as (

    {%- for column, namespace in identifier_namespaces() %}

    select
        record_key,
        source,
        source_record_id,
        is_resolved_record,
        occurred_at,
        '{{ namespace }}' as identifier_type,
        {{ column }} as identifier_value
    from records
    where {{ column }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        record_identifiers.record_key,
        record_identifiers.source,
        record_identifiers.source_record_id,
        record_identifiers.is_resolved_record,
        record_identifiers.occurred_at,
        record_identifiers.identifier_type,
        record_identifiers.identifier_value,
        record_identifiers.identifier_type
        || ':' || record_identifiers.identifier_value as identifier_key,
        {{ is_strong_identifier('record_identifiers.identifier_type') }} as is_strong,
        blocklist.reason as blocklist_reason
    from record_identifiers
    left join blocklist
        on
            lower(record_identifiers.identifier_type || ':' || record_identifiers.identifier_value)
            = blocklist.identifier_key

)

select * from final
