-- Identifier values a source sent that could not be normalised (an email
-- without @, a phone that is no E.164 number, a social handle without
-- platform), counted per source and identifier type over the latest record
-- versions: they are null in staging and so kept out of the graph, counted
-- here rather than dropped silently.
{%- set checked = [
    ('stg_crm__customers', 'crm_customers', ['email', 'phone']),
    ('stg_web__orders', 'web_orders', ['email', 'phone']),
    ('stg_pos__transactions', 'pos_transactions', ['phone']),
    ('stg_campaign__events', 'campaign_events', ['email', 'phone']),
    ('stg_service__tickets', 'service_tickets', ['email', 'phone']),
    ('stg_survey__responses', 'survey_responses', ['email', 'phone']),
    ('stg_experiment__assignments', 'experiment_assignments', ['email']),
    ('stg_social__interactions', 'social_interactions', ['social_handle']),
] %}
{%- set counts = [] %}
{%- for model, source, kinds in checked %}{% for kind in kinds %}
{%- do counts.append((source, kind)) %}
{%- endfor %}{% endfor %}

with

{% for model, source, kinds in checked %}
{{ source }} as (

    select * from {{ ref(model) }}

),

{% endfor -%}

counted as (

    {%- for source, kind in counts %}

    select
        '{{ source }}' as source,
        '{{ kind }}' as identifier_column,
        count(*) filter (where {{ kind }}_is_invalid) as invalid_count,
        count(*) as record_count
    from {{ source }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        source,
        identifier_column,
        invalid_count,
        record_count
    from counted

)

select * from final
