-- Incentive experiments by variant, the resolved customer as the unit: each
-- variant against the experiment's `control` with a two-proportion z-test, a
-- sample-ratio-mismatch check and the ROI net of the incentive's points cost.
{%- set z_975 = 1.959963985 %}

{#- 1 - Phi(x) for x >= 0, the standard normal upper tail, by Zelen & Severo's
    polynomial (Abramowitz & Stegun 26.2.17, absolute error < 7.5e-8); used as
    normal_upper_tail.replace('@x', expression). -#}
{%- set normal_upper_tail -%}
    (
        exp(-0.5 * (@x) * (@x)) / sqrt(2 * pi())
        * (
            0.319381530 + (
                -0.356563782 + (
                    1.781477937 + (
                        -1.821255978 + 1.330274429 / (1 + 0.2316419 * (@x))
                    ) / (1 + 0.2316419 * (@x))
                ) / (1 + 0.2316419 * (@x))
            ) / (1 + 0.2316419 * (@x))
        ) / (1 + 0.2316419 * (@x))
    )
{%- endset %}

with

assignments as {{ not_materialized() }} (

    select * from {{ ref('stg_experiment__assignments') }}

),

touchpoints as {{ not_materialized() }} (

    select * from {{ ref('fct_touchpoints') }}
    where source in ('experiment_assignments', 'loyalty_ledger')

),

orders as (

    select * from {{ ref('fct_orders') }}

),

ledger_entries as (

    select * from {{ ref('stg_loyalty__ledger_entries') }}

),

run_context as {{ not_materialized() }} (

    select * from {{ ref('int_run_context') }}

),

resolved_assignments as (

    select
        assignments.experiment_id,
        assignments.variant,
        assignments.incentive_type,
        assignments.assigned_at,
        touchpoints.customer_id
    from assignments
    left join touchpoints
        on
            touchpoints.source = 'experiment_assignments'
            and assignments.assignment_key = touchpoints.source_record_id

),

customer_assignments as (

    select
        experiment_id,
        customer_id,
        count(distinct variant) as variant_count,
        min(variant) as variant,
        min(assigned_at) as assigned_at
    from resolved_assignments
    where customer_id is not null
    group by all

),

experiment_exclusions as (

    select
        experiment_id,
        count(*) filter (where customer_id is null) as unresolved_assignment_count,
        count(distinct customer_id) filter (
            where customer_id in (
                select multi.customer_id
                from customer_assignments as multi
                where
                    multi.variant_count > 1
                    and multi.experiment_id = resolved_assignments.experiment_id
            )
        ) as excluded_customer_count
    from resolved_assignments
    group by all

),

units as (

    select
        experiment_id,
        customer_id,
        variant,
        assigned_at
    from customer_assignments
    where variant_count = 1

),

unit_orders as (

    select
        units.experiment_id,
        units.customer_id,
        bool_or(orders.is_purchase) as has_purchase,
        sum(orders.revenue_usd) as revenue_usd
    from units
    inner join orders
        on
            units.customer_id = orders.customer_id
            and units.assigned_at < orders.ordered_at
    where orders.order_date <= (select run_context.as_of_date from run_context)
    group by all

),

incentive_earns as (

    -- a double-points earn costs the points above the normal earn; grouped per
    -- customer and time first so the planner joins units on the customer
    select
        touchpoints.customer_id,
        ledger_entries.posted_at,
        sum(
            ledger_entries.points
            * (1 - 1.0 / {{ var('double_points_multiplier') }})
        ) as incentive_points
    from ledger_entries
    inner join touchpoints
        on
            touchpoints.source = 'loyalty_ledger'
            and ledger_entries.entry_id = touchpoints.source_record_id
    where
        ledger_entries.entry_type = 'earn'
        and ledger_entries.reason = 'double points purchase'
        and touchpoints.customer_id is not null
        and {{ to_reporting_date('ledger_entries.posted_at') }}
        <= (select run_context.as_of_date from run_context)
    group by all

),

unit_incentive_points as (

    select
        units.experiment_id,
        units.customer_id,
        sum(incentive_earns.incentive_points) as incentive_points
    from units
    inner join incentive_earns
        on
            units.customer_id = incentive_earns.customer_id
            and units.assigned_at < incentive_earns.posted_at
    group by all

),

variants as (

    select
        units.experiment_id,
        units.variant,
        count(*) as customer_count,
        count(*) filter (where unit_orders.has_purchase) as converted_customers,
        coalesce(sum(unit_orders.revenue_usd), 0) as revenue_usd,
        coalesce(sum(unit_incentive_points.incentive_points), 0) as incentive_points
    from units
    left join unit_orders
        on
            units.experiment_id = unit_orders.experiment_id
            and units.customer_id = unit_orders.customer_id
    left join unit_incentive_points
        on
            units.experiment_id = unit_incentive_points.experiment_id
            and units.customer_id = unit_incentive_points.customer_id
    group by all

),

variant_incentives as (

    select
        experiment_id,
        variant,
        min(incentive_type) as incentive_type
    from assignments
    group by all

),

compared as (

    select
        variants.experiment_id,
        variants.variant,
        variant_incentives.incentive_type,
        variants.variant = 'control' as is_control,
        variants.customer_count,
        variants.converted_customers,
        variants.converted_customers / variants.customer_count as conversion_rate,
        variants.revenue_usd,
        variants.revenue_usd / variants.customer_count as revenue_per_customer,
        variants.incentive_points,
        variants.incentive_points * {{ var('loyalty_point_value_usd') }}
            as points_cost_usd,
        control.customer_count as control_customers,
        control.converted_customers / control.customer_count as control_rate,
        (variants.converted_customers + control.converted_customers)
        / (variants.customer_count + control.customer_count) as pooled_rate,
        control.revenue_usd / control.customer_count as control_revenue_per_customer,
        count(*) over experiment as variant_count,
        sum(variants.customer_count) over experiment as experiment_customers
    from variants
    inner join variant_incentives
        on
            variants.experiment_id = variant_incentives.experiment_id
            and variants.variant = variant_incentives.variant
    left join variants as control
        on
            variants.experiment_id = control.experiment_id
            and control.variant = 'control'
            and variants.variant != 'control'
    window experiment as (partition by variants.experiment_id)

),

tested as (

    select
        *,
        conversion_rate - control_rate as conversion_uplift,
        sqrt(
            conversion_rate * (1 - conversion_rate) / customer_count
            + control_rate * (1 - control_rate) / control_customers
        ) as uplift_standard_error,
        (conversion_rate - control_rate)
        / nullif(
            sqrt(pooled_rate * (1 - pooled_rate) * (1 / customer_count + 1 / control_customers)),
            0
        ) as z_score,
        sum(
            power(customer_count - experiment_customers / variant_count, 2)
            / (experiment_customers / variant_count)
        ) over (partition by experiment_id) as srm_chi_square,
        (revenue_per_customer - control_revenue_per_customer) * customer_count
            as incremental_revenue_usd
    from compared

),

srm_tested as (

    -- chi-square upper tail: exact through the normal for 1 degree of freedom,
    -- the Wilson-Hilferty cube-root approximation for more
    select
        *,
        case
            when variant_count = 1 then null
            when variant_count = 2
                then 2 * {{ normal_upper_tail.replace('@x', 'sqrt(srm_chi_square)') }}
            else
                case
                    when srm_wh_z >= 0 then {{ normal_upper_tail.replace('@x', 'srm_wh_z') }}
                    else 1 - {{ normal_upper_tail.replace('@x', '-srm_wh_z') }}
                end
        end as srm_p_value
    from (
        select
            *,
            (
                power(srm_chi_square / (variant_count - 1), 1 / 3)
                - (1 - 2 / (9 * (variant_count - 1)))
            ) / sqrt(2 / (9 * (variant_count - 1))) as srm_wh_z
        from tested
    ) as with_wilson_hilferty

),

final as (

    select
        experiment_id,
        variant,
        incentive_type,
        is_control,
        customer_count,
        converted_customers,
        cast(round(conversion_rate, 4) as decimal(8, 4)) as conversion_rate,
        cast(round(revenue_usd, 2) as decimal(18, 2)) as revenue_usd,
        cast(round(revenue_per_customer, 2) as decimal(18, 2)) as revenue_per_customer_usd,
        cast(round(incentive_points) as bigint) as incentive_points,
        cast(round(points_cost_usd, 2) as decimal(18, 2)) as points_cost_usd,
        cast(round(conversion_uplift, 4) as decimal(8, 4)) as conversion_uplift,
        cast(
            round(conversion_uplift - {{ z_975 }} * uplift_standard_error, 4) as decimal(8, 4)
        ) as uplift_ci_lower,
        cast(
            round(conversion_uplift + {{ z_975 }} * uplift_standard_error, 4) as decimal(8, 4)
        ) as uplift_ci_upper,
        cast(round(z_score, 4) as decimal(12, 4)) as z_score,
        cast(
            round(2 * {{ normal_upper_tail.replace('@x', 'abs(z_score)') }}, 4) as decimal(8, 4)
        ) as p_value,
        cast(round(srm_chi_square, 4) as decimal(12, 4)) as srm_chi_square,
        cast(round(srm_p_value, 4) as decimal(8, 4)) as srm_p_value,
        srm_p_value < {{ var('srm_alpha') }} as has_sample_ratio_mismatch,
        cast(round(incremental_revenue_usd, 2) as decimal(18, 2)) as incremental_revenue_usd,
        cast(
            {{ round_ratio('incremental_revenue_usd - points_cost_usd', 'points_cost_usd', 4) }}
            as decimal(18, 4)
        ) as roi
    from srm_tested

)

select
    final.*,
    experiment_exclusions.excluded_customer_count,
    experiment_exclusions.unresolved_assignment_count
from final
inner join experiment_exclusions
    on final.experiment_id = experiment_exclusions.experiment_id
