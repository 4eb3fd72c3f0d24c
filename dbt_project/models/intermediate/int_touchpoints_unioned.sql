-- Every customer-facing record of every source (latest versions, from
-- staging) in one touchpoint shape: when, where (channel), what (type), the
-- identifiers it carries and the order it concerns. Marketing spend is not a
-- touchpoint and is left out. Sources bring only the identifiers they have;
-- shaped_columns fills the others with null. The customer comes from
-- identity resolution (int_source_records_resolved), which reads these
-- identifiers. is_customer_action separates what the customer did from what
-- the company did or recorded (profile writes, points postings, test
-- assignments, messages sent, delivered or bounced).
{%- set identifiers = {
    'order_id': 'string',
    'customer_ref': 'string',
    'loyalty_id': 'string',
    'email': 'string',
    'phone': 'string',
    'cookie_id': 'string',
    'device_id': 'string',
    'card_hash': 'string',
    'social_handle': 'string',
} %}
with

crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

web_orders as (

    select * from {{ ref('stg_web__orders') }}

),

pos_transactions as (

    select * from {{ ref('stg_pos__transactions') }}

),

web_sessions as (

    select * from {{ ref('stg_web__sessions') }}

),

app_events as (

    select * from {{ ref('stg_app__events') }}

),

social_interactions as (

    select * from {{ ref('stg_social__interactions') }}

),

campaign_events as (

    select * from {{ ref('stg_campaign__events') }}

),

service_tickets as (

    select * from {{ ref('stg_service__tickets') }}

),

survey_responses as (

    select * from {{ ref('stg_survey__responses') }}

),

loyalty_ledger_entries as (

    select * from {{ ref('stg_loyalty__ledger_entries') }}

),

experiment_assignments as (

    select * from {{ ref('stg_experiment__assignments') }}

),

crm_touchpoints as (

    select
        'crm_customers' as source,
        customer_ref as source_record_id,
        updated_at as occurred_at,
        'crm' as channel,
        'profile_update' as touchpoint_type,
        false as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['customer_ref', 'loyalty_id', 'email', 'phone']) }}
    from crm_customers

),

web_order_touchpoints as (

    select
        'web_orders' as source,
        order_id as source_record_id,
        ordered_at as occurred_at,
        storefront as channel,
        'order_placed' as touchpoint_type,
        true as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, [
            'customer_ref', 'loyalty_id', 'email', 'phone', 'cookie_id', 'device_id', 'order_id'
        ]) }}
    from web_orders

),

pos_touchpoints as (

    select
        'pos_transactions' as source,
        transaction_id as source_record_id,
        transacted_at as occurred_at,
        'store' as channel,
        'pos_' || txn_type as touchpoint_type,
        true as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, [
            'loyalty_id', 'phone', 'card_hash', 'transaction_id as order_id'
        ]) }}
    from pos_transactions

),

session_touchpoints as (

    select
        'web_sessions' as source,
        session_id as source_record_id,
        session_started_at as occurred_at,
        'web' as channel,
        'web_session' as touchpoint_type,
        true as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['customer_ref', 'cookie_id', 'order_id']) }}
    from web_sessions

),

app_touchpoints as (

    select
        'app_events' as source,
        event_id as source_record_id,
        occurred_at,
        'app' as channel,
        -- app_open already says app; the others get the prefix
        case
            when left(event_type, 4) = 'app_' then event_type
            else 'app_' || event_type
        end as touchpoint_type,
        true as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['customer_ref', 'device_id', 'order_id']) }}
    from app_events

),

social_touchpoints as (

    select
        'social_interactions' as source,
        interaction_id as source_record_id,
        interacted_at as occurred_at,
        'social' as channel,
        'social_' || interaction_type as touchpoint_type,
        true as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['customer_ref', 'social_handle']) }}
    from social_interactions

),

campaign_touchpoints as (

    select
        'campaign_events' as source,
        event_id as source_record_id,
        occurred_at,
        channel,
        channel || '_' || event_type as touchpoint_type,
        -- sends, deliveries and bounces are the company's doing, not the customer's
        event_type not in ('sent', 'delivered', 'bounce') as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['email', 'phone', 'device_id', 'order_id']) }}
    from campaign_events

),

service_touchpoints as (

    select
        'service_tickets' as source,
        ticket_id as source_record_id,
        opened_at as occurred_at,
        'service' as channel,
        'ticket_opened' as touchpoint_type,
        true as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['customer_ref', 'email', 'phone']) }}
    from service_tickets

),

survey_touchpoints as (

    select
        'survey_responses' as source,
        response_id as source_record_id,
        responded_at as occurred_at,
        'survey' as channel,
        'survey_' || survey_type as touchpoint_type,
        true as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['customer_ref', 'email', 'phone']) }}
    from survey_responses

),

loyalty_touchpoints as (

    select
        'loyalty_ledger' as source,
        entry_id as source_record_id,
        posted_at as occurred_at,
        'loyalty' as channel,
        'points_' || entry_type as touchpoint_type,
        -- points follow purchases and program rules
        false as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['loyalty_id']) }}
    from loyalty_ledger_entries

),

experiment_touchpoints as (

    select
        'experiment_assignments' as source,
        assignment_key as source_record_id,
        assigned_at as occurred_at,
        'experiment' as channel,
        'experiment_assignment' as touchpoint_type,
        false as is_customer_action,
        _ingested_at,
        {{- shaped_columns(identifiers, ['customer_ref', 'loyalty_id', 'email']) }}
    from experiment_assignments

),

unioned as (

    select * from crm_touchpoints
    union all
    select * from web_order_touchpoints
    union all
    select * from pos_touchpoints
    union all
    select * from session_touchpoints
    union all
    select * from app_touchpoints
    union all
    select * from social_touchpoints
    union all
    select * from campaign_touchpoints
    union all
    select * from service_touchpoints
    union all
    select * from survey_touchpoints
    union all
    select * from loyalty_touchpoints
    union all
    select * from experiment_touchpoints

),

final as (

    select
        source || ':' || source_record_id as touchpoint_key,
        source,
        source_record_id,
        occurred_at,
        channel,
        touchpoint_type,
        is_customer_action,
        order_id,
        _ingested_at,
        customer_ref,
        loyalty_id,
        email,
        phone,
        cookie_id,
        device_id,
        card_hash,
        social_handle
    from unioned

)

select * from final
