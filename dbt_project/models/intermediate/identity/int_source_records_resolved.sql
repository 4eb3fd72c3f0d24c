{{ config(materialized=stateful_materialization(), unique_key='record_key') }}

-- The customer of every customer-facing record (int_identity__record_customers),
-- with its reason when it has none: the latest row of each record in the change
-- feed int_source_record_changes. A record whose person asked to be forgotten
-- gets no customer. An incremental build applies the feed rows written since the
-- newest it applied.
{%- set single_batch = false %}
{%- if execute and flags.WHICH in ('run', 'build') and not is_incremental() %}
    {#- A full build of the feed is one batch, a row per record: no need to find
        each record's latest row (a window over every record). Asked only when dbt
        builds the model: `dbt compile` and the linter do not touch the warehouse. -#}
    {%- set batches = run_query(
        'select min(_changed_at) = max(_changed_at) from ' ~ ref('int_source_record_changes')
    ) %}
    {%- set single_batch = batches.columns[0].values()[0] %}
{%- endif %}

with

changes as (

    select * from {{ ref('int_source_record_changes') }}

),

latest as (

    select *
    from changes
    {%- if is_incremental() %}
    where _changed_at > (
        select {{ incremental_read_from('max(_changed_at)') }} from {{ this }}
    )
    {%- endif %}
    {%- if not single_batch %}
    qualify row_number() over (partition by record_key order by _changed_at desc) = 1
    {%- endif %}

),

final as (

    select
        record_key,
        source,
        source_record_id,
        resolved_customer_id,
        customer_id,
        unresolved_reason,
        _ingested_at,
        _resolved_at,
        _changed_at
    from latest

)

select * from final
