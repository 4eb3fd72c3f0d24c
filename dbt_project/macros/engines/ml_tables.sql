{#- The tables the Python model assets (orchestration/defs/ml) write and dbt reads as
    source('ml', ...): created empty on every dbt invocation if missing, so the marts
    that join them build on a fresh warehouse before any model has run. One row set
    per as-of date (per run for the metrics; per text record for the feedback scores,
    which do not depend on the date); the assets replace their own rows. On
    Spark they are views of their Parquet copies (register_parquet_sources). -#}
{% macro create_ml_tables() -%}
    {{ return(adapter.dispatch('create_ml_tables')()) }}
{%- endmacro %}

{% macro spark__create_ml_tables() -%}
{%- endmacro %}

{% macro default__create_ml_tables() -%}
    create schema if not exists ml;
    create table if not exists ml.customer_clv (
        customer_id string not null,
        as_of_date date not null,
        model string not null,
        frequency integer not null,
        recency double not null,
        T double not null,
        monetary_value double not null,
        p_alive double,
        expected_purchases_90d double,
        expected_purchases_365d double,
        expected_avg_order_value double,
        clv_365d double,
        is_extreme_customer boolean not null
    );
    create table if not exists ml.clv_model_params (
        as_of_date date not null,
        model string not null,
        parameter string not null,
        value double not null,
        time_unit string not null,
        log_likelihood double,
        n_customers bigint not null
    );
    create table if not exists ml.customer_churn (
        customer_id string not null,
        as_of_date date not null,
        horizon_days integer not null,
        churn_probability double not null,
        risk_tier string not null,
        top_drivers string
    );
    create table if not exists ml.churn_model_metrics (
        run_id string not null,
        as_of_date date not null,
        horizon_days integer not null,
        model_name string not null,
        roc_auc double,
        pr_auc double,
        brier_score double,
        top_decile_lift double,
        n_training bigint not null,
        n_validation bigint not null,
        validation_churn_rate double,
        beats_baselines boolean not null,
        calibration_error double
    );
    create table if not exists ml.feedback_text_scores (
        touchpoint_key string not null,
        text_hash string not null,
        lexicon_version string not null,
        language string not null,
        sentiment_score double not null,
        sentiment_label string not null,
        primary_topic string not null
    );
    create table if not exists ml.feedback_text_topics (
        touchpoint_key string not null,
        topic string not null
    );
    {#- added after the table's first release: warehouses created before get it here -#}
    alter table ml.churn_model_metrics add column if not exists calibration_error double;
{%- endmacro %}

{#- The same, run at once on the target: `dbt run-operation create_ml_tables_now
    --target duckdb` (a hook runs the text create_ml_tables returns; an operation only
    renders it). The pipeline on Spark does this on a warehouse file without them. -#}
{% macro create_ml_tables_now() -%}
    {%- do run_query(create_ml_tables()) -%}
{%- endmacro %}
