-- How concentrated revenue is: the share of the RFM window's net revenue that
-- the top 1, 5, 10 and 20 % of buyers bring, over all customers and per
-- channel profile.
with

customer_rfm as (

    select * from {{ ref('customer_rfm') }}

),

top_shares as (

    select top_percents.top_customer_pct
    from (values (1), (5), (10), (20)) as top_percents (top_customer_pct)

),

buyers as (

    -- a customer with a purchase day in the window, once overall and once in their profile
    select
        customer_rfm.customer_id,
        customer_rfm.as_of_date,
        customer_rfm.monetary_usd,
        case profiles.profile_kind when 'all' then 'all' else customer_rfm.channel_profile end
            as channel_profile
    from customer_rfm
    cross join (values ('all'), ('own')) as profiles (profile_kind)
    where customer_rfm.frequency_days > 0

),

ranked as (

    select
        *,
        row_number() over (
            partition by channel_profile
            order by monetary_usd desc, customer_id asc
        ) as revenue_rank,
        count(*) over (partition by channel_profile) as customer_count,
        sum(monetary_usd) over (partition by channel_profile) as total_revenue_usd
    from buyers

),

cutoffs as (

    -- ceil(pct x n / 100): the top group has at least one customer (exact in a double
    -- below 2^53 customers)
    select
        ranked.*,
        top_shares.top_customer_pct,
        cast(ceil(top_shares.top_customer_pct * ranked.customer_count / 100) as bigint)
            as top_customer_count
    from ranked
    cross join top_shares

),

final as (

    select
        any_value(as_of_date) as as_of_date,
        channel_profile,
        top_customer_pct,
        any_value(customer_count) as customer_count,
        any_value(top_customer_count) as top_customer_count,
        cast(
            sum(monetary_usd) filter (where revenue_rank <= top_customer_count)
            as decimal(18, 2)
        ) as top_revenue_usd,
        cast(any_value(total_revenue_usd) as decimal(18, 2)) as total_revenue_usd
    from cutoffs
    group by channel_profile, top_customer_pct

)

select
    *,
    cast({{ round_ratio('top_revenue_usd', 'total_revenue_usd', 4) }} as decimal(6, 4))
        as revenue_share
from final
