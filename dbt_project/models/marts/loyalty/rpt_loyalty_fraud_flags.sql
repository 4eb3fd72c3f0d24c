with

ledger as (

    select * from {{ ref('fct_points_ledger') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

entries as (

    select
        ledger.*,
        ledger.entry_type in ('earn', 'bonus')
        or (ledger.entry_type = 'adjust' and ledger.signed_points > 0) as is_accrual,
        min(ledger.posted_at) over (partition by ledger.loyalty_id) as member_first_posted_at
    from ledger
    cross join run_context
    where ledger.entry_date <= run_context.as_of_date

),

daily_accruals as (

    select
        loyalty_id,
        entry_date,
        sum(signed_points) as accrued_points
    from entries
    where is_accrual
    group by loyalty_id, entry_date

),

over_cap as (

    select
        loyalty_id,
        'daily_cap_exceeded' as flag_reason,
        count(*) as occurrence_count,
        min(entry_date) as first_flagged_date,
        max(entry_date) as last_flagged_date,
        max(accrued_points) as evidence_value
    from daily_accruals
    where accrued_points > {{ var('points_daily_cap') }}
    group by loyalty_id

),

small_earns as (

    -- small earn transactions and how many of them the member made from each
    -- one on within the burst window
    select
        loyalty_id,
        entry_date,
        count(*) over (
            partition by loyalty_id
            order by posted_at
            range between current row
            and interval '{{ var('fraud_burst_window_minutes') }} minutes' following
        ) as entries_in_window
    from entries
    where
        entry_type = 'earn'
        and signed_points <= {{ var('fraud_small_points_max') }}

),

bursts as (

    select
        loyalty_id,
        'small_transaction_burst' as flag_reason,
        count(*) as occurrence_count,
        min(entry_date) as first_flagged_date,
        max(entry_date) as last_flagged_date,
        max(entries_in_window) as evidence_value
    from small_earns
    where entries_in_window >= {{ var('fraud_burst_min_entries') }}
    group by loyalty_id

),

quick_redemptions as (

    -- a redemption on a young account soon after an accrual (range join)
    select
        redemptions.loyalty_id,
        redemptions.entry_id,
        any_value(redemptions.entry_date) as entry_date,
        any_value(-redemptions.signed_points) as redeemed_points
    from entries as redemptions
    inner join entries as accruals
        on
            redemptions.loyalty_id = accruals.loyalty_id
            and redemptions.posted_at >= accruals.posted_at
            and redemptions.posted_at
            <= {{ plus_days('accruals.posted_at', var('fraud_quick_redeem_days')) }}
            and accruals.is_accrual
    where
        redemptions.entry_type = 'redeem'
        and redemptions.posted_at
        < {{ plus_days('redemptions.member_first_posted_at', var('fraud_new_account_days')) }}
    group by redemptions.loyalty_id, redemptions.entry_id

),

quick_redeemers as (

    select
        loyalty_id,
        'quick_redemption_new_account' as flag_reason,
        count(*) as occurrence_count,
        min(entry_date) as first_flagged_date,
        max(entry_date) as last_flagged_date,
        max(redeemed_points) as evidence_value
    from quick_redemptions
    group by loyalty_id

),

flags as (

    select * from over_cap
    union all
    select * from bursts
    union all
    select * from quick_redeemers

),

members as (

    select
        loyalty_id,
        min(customer_id) as customer_id
    from entries
    group by loyalty_id

),

final as (

    select
        flags.loyalty_id,
        members.customer_id,
        flags.flag_reason,
        flags.occurrence_count,
        flags.first_flagged_date,
        flags.last_flagged_date,
        cast(flags.evidence_value as bigint) as evidence_value
    from flags
    inner join members
        on flags.loyalty_id = members.loyalty_id

)

select * from final
