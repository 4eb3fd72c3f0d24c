-- Placeholder identifiers from the identifier_blocklist seed, normalised the
-- way staging normalises that identifier type and namespaced like a customer
-- key, so a lookup is one equality. `any` rows apply to every type.
with

blocklist as (

    select * from {{ ref('identifier_blocklist') }}

),

identifier_types as (

    select
        identifier_types.identifier_type,
        identifier_types.identifier_namespace
    from (
        values
        {%- for column, namespace in identifier_namespaces() %}
        ('{{ column }}', '{{ namespace }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as identifier_types (identifier_type, identifier_namespace)

),

expanded as (

    select
        identifier_types.identifier_type,
        identifier_types.identifier_namespace,
        blocklist.identifier_value,
        blocklist.reason
    from blocklist
    inner join identifier_types
        on lower(blocklist.identifier_type) in (identifier_types.identifier_type, 'any')

),

normalized as (

    select
        identifier_type,
        identifier_namespace,
        reason,
        case identifier_type
            when 'email' then {{ normalize_email('identifier_value') }}
            when 'phone' then {{ normalize_phone('identifier_value', 'identifier_blocklist') }}
            else lower({{ clean_text('identifier_value') }})
        end as identifier_value
    from expanded

),

final as (

    select
        identifier_namespace || ':' || identifier_value as identifier_key,
        identifier_type,
        identifier_value,
        {{ string_agg_ordered('reason', "'; '", distinct=true) }} as reason
    from normalized
    where identifier_value is not null
    group by identifier_namespace, identifier_type, identifier_value

)

select * from final
