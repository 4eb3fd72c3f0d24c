{{ config(materialized=stateful_materialization(), incremental_strategy='append') }}

-- The change feed of record resolution: a row each time a customer-facing record
-- is new, has a later version, is re-resolved, or its customer is forgotten or no
-- longer forgotten - with its customer now and the one it had before.
-- int_source_records_resolved applies it; the customer-grain models read it to
-- find which customers to recompute, the previous owner of a record as well as the
-- new one. Read before int_source_records_resolved is updated (not through ref:
-- that model is built from this one), so the previous customer is the one the
-- models downstream saw.
{%- set incremental = is_incremental() and adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_source_records_resolved'
) is not none %}
{%- set resolved = this.schema ~ '.int_source_records_resolved' if incremental %}

with

touchpoints as {{ not_materialized() }} (

    select * from {{ ref('int_touchpoints_unioned') }}

),

record_customers as {{ not_materialized() }} (

    select * from {{ ref('int_identity__record_customers') }}

),

customers_forgotten as {{ not_materialized() }} (

    select * from {{ ref('int_customers_forgotten') }}

),

{% if incremental %}
previous as {{ not_materialized() }} (

    select * from {{ resolved }}

),

-- Per source, as in int_identity__record_identifier_states: staging tables are
-- built separately, so one may hold rows ingested before another's newest.
watermarks as (

    select
        source,
        max(_ingested_at) as ingested_until
    from {{ this }}
    group by source

),

-- The earliest point any source reads from, as one value the staging scans can
-- skip row groups with (the per-source join cannot).
read_from as (

    select min({{ incremental_read_from('watermarks.ingested_until') }}) as read_from
    from (select distinct source from touchpoints) as record_sources
    left join watermarks on record_sources.source = watermarks.source

),

ingested_keys as (

    select touchpoints.touchpoint_key as record_key
    from touchpoints
    left join watermarks on touchpoints.source = watermarks.source
    where
        touchpoints._ingested_at > (select read_from.read_from from read_from)
        and touchpoints._ingested_at
        > {{ incremental_read_from('watermarks.ingested_until') }}

),

resolved_keys as (

    select record_key
    from record_customers
    where _resolved_at > (
        select {{ incremental_read_from('max(_resolved_at)') }} from {{ this }}
    )

),

-- Customers forgotten now and not in the previous resolution, or the reverse.
previously_forgotten as (

    select distinct resolved_customer_id as customer_id
    from previous
    where unresolved_reason = 'forgotten'

),

forgotten_changes as (

    (
        select customer_id from customers_forgotten
        except
        select customer_id from previously_forgotten
    )
    union
    (
        select customer_id from previously_forgotten
        except
        select customer_id from customers_forgotten
    )

),

forgotten_keys as (

    select record_key
    from previous
    where resolved_customer_id in (select customer_id from forgotten_changes)

),

changed_keys as (

    select record_key from ingested_keys
    union
    select record_key from resolved_keys
    union
    select record_key from forgotten_keys

),
{% endif %}

changed_records as (

    select
        touchpoint_key as record_key,
        source,
        source_record_id,
        _ingested_at
    from touchpoints
    {%- if incremental %}
    where touchpoint_key in (select changed_keys.record_key from changed_keys)
    {%- endif %}

),

final as (

    select
        changed_records.record_key,
        changed_records.source,
        changed_records.source_record_id,
        record_customers.customer_id as resolved_customer_id,
        case
            when customers_forgotten.customer_id is null then record_customers.customer_id
        end as customer_id,
        case
            when customers_forgotten.customer_id is not null then 'forgotten'
            when not coalesce(record_customers.carries_identifier, false) then 'no_identifier'
            when record_customers.customer_id is null then 'only_excluded_identifiers'
        end as unresolved_reason,
        {{ 'previous.customer_id' if incremental else 'cast(null as string)' }}
            as previous_customer_id,
        changed_records._ingested_at,
        record_customers._resolved_at,
        {{ build_timestamp() }} as _changed_at
    from changed_records
    left join record_customers on changed_records.record_key = record_customers.record_key
    left join customers_forgotten
        on record_customers.customer_id = customers_forgotten.customer_id
    {%- if incremental %}
    left join previous on changed_records.record_key = previous.record_key
    {%- endif %}

)

select * from final
