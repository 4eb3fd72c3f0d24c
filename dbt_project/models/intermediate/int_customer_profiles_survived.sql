-- depends_on: {{ ref('int_source_record_changes') }}
{{ config(
    materialized=stateful_materialization(),
    incremental_strategy='replace_keys',
    unique_key='customer_id',
) }}

-- Not a view as the other intermediate models are: it ranks every resolved record,
-- and its data tests and dim_customers would each do that again. An incremental
-- build recomputes the customers whose records changed since the newest row it
-- wrote (macros/incremental_read_from.sql, changed_customer_ctes), and removes those
-- left with no record.
-- The golden-record profile of each resolved customer: every record of the
-- customer that carries personal attributes is a candidate, and each attribute
-- takes the value of the best candidate that has one. Best = highest
-- survivorship tier (3 CRM profile, 2 order or POS transaction, 1 any other
-- record), then latest occurred_at, then source and source_record_id (latest
-- first) so that ties resolve the same way every run. Attributes that belong
-- together survive together: first and last name from one record, city and
-- country from one record. Placeholder emails, phones and loyalty ids of the
-- identifier blocklist are never a customer's value. Forgotten customers have
-- no resolved record, hence no profile.
{%- set profile_identifiers = ['loyalty_id', 'email', 'phone'] %}
with

{{ changed_customer_ctes() }}

resolved_records as {{ not_materialized() }} (

    select * from {{ ref('int_source_records_resolved') }}
    {{- of_changed_customers() }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

web_orders as (

    select * from {{ ref('stg_web__orders') }}

),

blocklist as (

    select * from {{ ref('int_identifier_blocklist') }}

),

candidates as (

    select
        resolved_records.customer_id,
        {{ struct_of({
            'tier': "case touchpoints.source
                when 'crm_customers' then 3
                when 'web_orders' then 2
                when 'pos_transactions' then 2
                else 1
            end",
            'occurred_at': 'touchpoints.occurred_at',
            'source': 'touchpoints.source',
            'source_record_id': 'touchpoints.source_record_id',
        }) }} as survivorship_key,
        {%- for column, namespace in identifier_namespaces()
            if column in profile_identifiers %}
        case
            when
                lower('{{ namespace }}:' || touchpoints.{{ column }}) not in (
                    select blocklist.identifier_key from blocklist
                )
                then touchpoints.{{ column }}
        end as {{ column }},
        {%- endfor %}
        crm_customers.first_name,
        crm_customers.last_name,
        crm_customers.birth_date,
        crm_customers.gender,
        crm_customers.signup_date,
        crm_customers.has_marketing_consent,
        coalesce(crm_customers.city, web_orders.ship_city) as city,
        coalesce(crm_customers.country_code, web_orders.ship_country_code) as country_code
    from resolved_records
    inner join touchpoints
        on
            resolved_records.source = touchpoints.source
            and resolved_records.source_record_id = touchpoints.source_record_id
    left join crm_customers
        on
            touchpoints.source = 'crm_customers'
            and touchpoints.source_record_id = crm_customers.customer_ref
    left join web_orders
        on
            touchpoints.source = 'web_orders'
            and touchpoints.source_record_id = web_orders.order_id
    where
        resolved_records.customer_id is not null
        -- a record with no attribute is no candidate (most events carry only a
        -- cookie or device); its customer still gets a row, in final
        and (
            crm_customers.customer_ref is not null
            or web_orders.order_id is not null
            {%- for column, namespace in identifier_namespaces()
                if column in profile_identifiers %}
            or touchpoints.{{ column }} is not null
            {%- endfor %}
        )

),

customers as (

    select distinct customer_id
    from resolved_records
    where customer_id is not null

),

survived as (

    -- attributes that belong together survive as one struct, so that a null
    -- member stays null instead of being filled from another record
    select
        customer_id,
        max_by(
            {{ struct_of({'first_name': 'first_name', 'last_name': 'last_name'}) }},
            survivorship_key
        )
        filter (where first_name is not null or last_name is not null) as full_name,
        max_by(
            {{ struct_of({'city': 'city', 'country_code': 'country_code'}) }},
            survivorship_key
        )
        filter (where city is not null or country_code is not null) as residence,
        max_by(email, survivorship_key) filter (where email is not null) as email,
        max_by(phone, survivorship_key) filter (where phone is not null) as phone,
        max_by(birth_date, survivorship_key) filter (where birth_date is not null) as birth_date,
        max_by(gender, survivorship_key) filter (where gender is not null) as gender,
        max_by(loyalty_id, survivorship_key) filter (where loyalty_id is not null) as loyalty_id,
        max_by(has_marketing_consent, survivorship_key)
        filter (where has_marketing_consent is not null) as has_marketing_consent,
        -- the first profile marks when the person signed up
        min(signup_date) as signup_date
    from candidates
    group by customer_id

),

final as (

    select
        customers.customer_id,
        survived.full_name['first_name'] as first_name,
        survived.full_name['last_name'] as last_name,
        survived.email,
        survived.phone,
        survived.residence['city'] as city,
        survived.residence['country_code'] as country_code,
        survived.birth_date,
        survived.gender,
        survived.loyalty_id,
        survived.has_marketing_consent,
        survived.signup_date,
        {{ build_timestamp() }} as _changed_at
    from customers
    left join survived on customers.customer_id = survived.customer_id

)

{{ replace_keys_batch('final', 'rewritten_rows') }}
