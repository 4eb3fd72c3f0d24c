with

lots as (

    select * from {{ ref('fct_points_expiry_lots') }}

),

ledger as (

    select * from {{ ref('fct_points_ledger') }}

),

run_context as (

    select * from {{ ref('int_run_context') }}

),

computed as (

    select
        loyalty_id,
        min(customer_id) as customer_id,
        sum(expired_points) as computed_expired_points,
        count(*) filter (where expired_points > 0) as computed_expired_lot_count,
        max(expiry_date) filter (where expired_points > 0) as last_computed_expiry_date
    from lots
    group by loyalty_id

),

booked as (

    select
        ledger.loyalty_id,
        min(ledger.customer_id) as customer_id,
        -sum(ledger.signed_points) as ledger_expired_points,
        count(*) as ledger_expire_entry_count,
        max(ledger.entry_date) as last_ledger_expiry_date
    from ledger
    cross join run_context
    where ledger.entry_type = 'expire' and ledger.entry_date <= run_context.as_of_date
    group by ledger.loyalty_id

),

compared as (

    select
        coalesce(computed.loyalty_id, booked.loyalty_id) as loyalty_id,
        coalesce(computed.customer_id, booked.customer_id) as customer_id,
        coalesce(computed.computed_expired_points, 0) as computed_expired_points,
        coalesce(booked.ledger_expired_points, 0) as ledger_expired_points,
        coalesce(computed.computed_expired_lot_count, 0) as computed_expired_lot_count,
        coalesce(booked.ledger_expire_entry_count, 0) as ledger_expire_entry_count,
        computed.last_computed_expiry_date,
        booked.last_ledger_expiry_date
    from computed
    full outer join booked
        on computed.loyalty_id = booked.loyalty_id

),

final as (

    select
        loyalty_id,
        customer_id,
        cast(computed_expired_points as bigint) as computed_expired_points,
        cast(ledger_expired_points as bigint) as ledger_expired_points,
        cast(ledger_expired_points - computed_expired_points as bigint)
            as expired_points_difference,
        case
            when ledger_expired_points = computed_expired_points then 'match'
            when ledger_expired_points > computed_expired_points then 'ledger_expired_more'
            else 'ledger_expired_less'
        end as reconciliation_status,
        computed_expired_lot_count,
        ledger_expire_entry_count,
        last_computed_expiry_date,
        last_ledger_expiry_date
    from compared
    -- members with nothing expired on either side have nothing to reconcile
    where
        computed_expired_points <> 0
        or ledger_expired_points <> 0
        or ledger_expire_entry_count > 0

)

select * from final
