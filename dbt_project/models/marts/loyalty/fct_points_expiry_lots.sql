with

ledger as (

    select * from {{ ref('fct_points_ledger') }}

),

run_context as {{ not_materialized() }} (

    select * from {{ ref('int_run_context') }}

),

entries as (

    select ledger.*
    from ledger
    cross join run_context
    where ledger.entry_date <= run_context.as_of_date

),

lots as (

    -- every accrual is a lot; it spans [lot_start, lot_end) on the member's
    -- cumulative-points-earned axis, oldest first
    select
        loyalty_id,
        customer_id,
        entry_id,
        entry_type,
        posted_at as earned_at,
        signed_points as lot_points,
        sum(signed_points) over (
            partition by loyalty_id order by posted_at, entry_id
        ) - signed_points as lot_start,
        sum(signed_points) over (
            partition by loyalty_id order by posted_at, entry_id
        ) as lot_end,
        cast(
            row_number() over (partition by loyalty_id order by posted_at, entry_id) as bigint
        ) as lot_sequence,
        {{ plus_days('posted_at', var('points_lifetime_days')) }} as expires_at
    from entries
    where signed_points > 0

),

consumptions as (

    -- redemptions and downward adjustments use points; the ledger's own expire
    -- entries are left out: they are what the computed expiry is checked against
    select
        loyalty_id,
        posted_at,
        -signed_points as consumed_points
    from entries
    where entry_type in ('redeem', 'adjust') and signed_points < 0

),

lots_dated as (

    select
        lots.*,
        {{ to_reporting_date('lots.expires_at') }} as expiry_date,
        {{ to_reporting_date('lots.expires_at') }} <= run_context.as_of_date as is_expired
    from lots
    cross join run_context

),

consumed_by_expiry as (

    -- points used by the time each lot expires (range join)
    select
        lots_dated.entry_id,
        coalesce(sum(consumptions.consumed_points), 0) as consumed_before_expiry
    from lots_dated
    left join consumptions
        on
            lots_dated.loyalty_id = consumptions.loyalty_id
            and lots_dated.expires_at >= consumptions.posted_at
    group by lots_dated.entry_id

),

fronts as (

    -- the front of the FIFO queue moves with consumption and jumps to the end of
    -- each lot that expires: front(t) = used(t) + max(0, max over lots j expired
    -- by t of (lot_end_j - used(expiry_j)))
    select
        lots_dated.*,
        consumed_by_expiry.consumed_before_expiry,
        lots_dated.lot_end - consumed_by_expiry.consumed_before_expiry as expiry_jump,
        coalesce(
            max(lots_dated.lot_end - consumed_by_expiry.consumed_before_expiry) over (
                partition by lots_dated.loyalty_id
                order by lots_dated.lot_sequence
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as previous_jump
    from lots_dated
    inner join consumed_by_expiry
        on lots_dated.entry_id = consumed_by_expiry.entry_id

),

consumed_to_date as (

    select
        loyalty_id,
        sum(consumed_points) as consumed_points
    from consumptions
    group by loyalty_id

),

member_front as (

    -- where the queue's front stands on the as-of date
    select
        fronts.loyalty_id,
        coalesce(max(fronts.expiry_jump) filter (where fronts.is_expired), 0) as max_jump,
        coalesce(any_value(consumed_to_date.consumed_points), 0) as consumed_points
    from fronts
    left join consumed_to_date
        on fronts.loyalty_id = consumed_to_date.loyalty_id
    group by fronts.loyalty_id

),

positioned as (

    select
        fronts.*,
        case
            when fronts.is_expired
                then fronts.consumed_before_expiry + greatest(0, fronts.previous_jump)
            else member_front.consumed_points + greatest(0, member_front.max_jump)
        end as front_position
    from fronts
    inner join member_front
        on fronts.loyalty_id = member_front.loyalty_id

),

split as (

    -- the part of the lot behind the front is used; the rest expires or remains
    select
        *,
        least(lot_points, greatest(0, front_position - lot_start)) as used_points
    from positioned

),

final as (

    select
        entry_id,
        loyalty_id,
        customer_id,
        entry_type,
        lot_sequence,
        earned_at,
        expires_at,
        expiry_date,
        is_expired,
        cast(lot_points as bigint) as lot_points,
        cast(used_points as bigint) as consumed_points,
        cast(case when is_expired then lot_points - used_points else 0 end as bigint)
            as expired_points,
        cast(case when is_expired then 0 else lot_points - used_points end as bigint)
            as remaining_points
    from split

)

select * from final
