with

ledger as (

    select * from {{ ref('stg_loyalty__ledger_entries') }}

),

-- the customer of each entry, from the one resolved record layer every mart reads
resolved_records as (

    select * from {{ ref('int_source_records_resolved') }}
    where source = 'loyalty_ledger'

),

final as (

    select
        ledger.entry_id,
        ledger.posted_at,
        {{ to_reporting_date('ledger.posted_at') }} as entry_date,
        resolved_records.customer_id,
        ledger.loyalty_id,
        ledger.entry_type,
        ledger.points,
        -- the sign follows the entry type whatever the sign the source sent;
        -- an adjustment keeps its own sign
        case
            when ledger.entry_type in ('earn', 'bonus') then abs(ledger.points)
            when ledger.entry_type in ('redeem', 'expire') then -abs(ledger.points)
            else ledger.points
        end as signed_points,
        ledger.source_channel as channel,
        ledger.related_id,
        ledger.reason
    from ledger
    left join resolved_records
        on ledger.entry_id = resolved_records.source_record_id

)

select * from final
