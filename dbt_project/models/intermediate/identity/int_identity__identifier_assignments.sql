{{ config(materialized=stateful_materialization(), unique_key='identifier_key') }}

-- The customer each identifier resolves to, with the time it last changed, so
-- that record resolution (int_identity__record_customers) re-resolves only the
-- records carrying an identifier whose customer changed. An incremental build
-- writes only the identifiers whose customer differs from the one the table
-- holds; one that stops resolving (excluded now) keeps a row with a null
-- customer_id.
with

identifier_clusters as {{ not_materialized() }} (

    select * from {{ ref('int_identity__identifier_clusters') }}

),

{% if is_incremental() %}
previous as (

    select * from {{ this }}

),
{% endif %}

changed as (

    {% if is_incremental() -%}
    select
        coalesce(identifier_clusters.identifier_key, previous.identifier_key)
            as identifier_key,
        identifier_clusters.customer_id
    from identifier_clusters
    full outer join previous
        on identifier_clusters.identifier_key = previous.identifier_key
    where identifier_clusters.customer_id is distinct from previous.customer_id
    {%- else -%}
    select
        identifier_key,
        customer_id
    from identifier_clusters
    {%- endif %}

),

final as (

    select
        identifier_key,
        customer_id,
        {{ build_timestamp() }} as _assigned_at
    from changed

)

select * from final
