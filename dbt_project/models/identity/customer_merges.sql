{{ config(materialized=stateful_materialization(), full_refresh=false) }}

-- Ids that changed since the previous run: the new mapping of identifiers to
-- customers compared with identity.customer_identifiers as the previous run
-- left it (customer_identifiers is built after this model). Identifiers of
-- an old customer now spread over several customers: a split; otherwise the
-- old id was absorbed into the new one: a merge. New identifiers, and those
-- gone (forgotten), change nothing. Never rebuilt from scratch: it is a log.
{%- set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='customer_identifiers'
) %}

with

identifier_clusters as (

    select * from {{ ref('int_identity__identifier_clusters') }}

),

customers_forgotten as (

    select * from {{ ref('int_customers_forgotten') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

current_mapping as (

    select
        identifier_clusters.identifier_type,
        identifier_clusters.identifier_value,
        identifier_clusters.customer_id
    from identifier_clusters
    anti join customers_forgotten
        on identifier_clusters.customer_id = customers_forgotten.customer_id

),

previous_mapping as (

    {% if previous is not none -%}
    select
        identifier_type,
        identifier_value,
        customer_id
    from {{ previous }}
    {%- else -%}
    select
        cast(null as string) as identifier_type,
        cast(null as string) as identifier_value,
        cast(null as string) as customer_id
    where false
    {%- endif %}

),

moves as (

    select
        previous_mapping.customer_id as old_customer_id,
        current_mapping.customer_id as new_customer_id,
        count(*) as identifier_count
    from previous_mapping
    inner join current_mapping
        on
            previous_mapping.identifier_type = current_mapping.identifier_type
            and previous_mapping.identifier_value = current_mapping.identifier_value
    group by previous_mapping.customer_id, current_mapping.customer_id

),

fan_out as (

    select
        old_customer_id,
        count(*) as new_customer_count
    from moves
    group by old_customer_id

),

final as (

    select
        '{{ var("run_id", invocation_id) }}' as run_id,
        run_context.as_of_date,
        case when fan_out.new_customer_count > 1 then 'split' else 'merge' end as change_type,
        moves.old_customer_id,
        moves.new_customer_id,
        case
            when fan_out.new_customer_count > 1
                then
                    moves.identifier_count || ' identifier(s) moved; the old customer now spans '
                    || fan_out.new_customer_count || ' customers'
            else
                moves.identifier_count
                || ' identifier(s) now belong to a customer with an older anchor'
        end as reason,
        {{ build_timestamp() }} as logged_at
    from moves
    inner join fan_out on moves.old_customer_id = fan_out.old_customer_id
    cross join run_context
    where moves.old_customer_id <> moves.new_customer_id

)

select * from final
