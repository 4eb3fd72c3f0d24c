{#- Point-in-time snapshot dates of the churn and CLV feature models
    (models/features), as a CTE body with columns snapshot_date, snapshot_role:
      scoring     the run's as-of date (its future is unknown: no label)
      validation  M - H, whose H-day label window ends on the model date M
      training    M - 2H - i x step for i = 0 .. n - 1, whose label windows
                  end on or before the validation date (a time split, never random)
    M, the model date, is the last day on or before the as-of date that is a
    whole number of R-day periods after Monday 1970-01-05: the labelled
    snapshots, and so the fitted model, stay the same for R nights (R = 7: a
    weekly refit on Mondays, scored every night; R = 1: M = the as-of date).
    H = var churn_horizon_days, R = var churn_refit_days, n = var
    churn_training_snapshots, step = var churn_snapshot_step_days; the as-of date
    is run_context's (int_run_context or a CTE of it). -#}
{% macro churn_snapshot_dates(run_context) -%}
    {%- set horizon = int_var('churn_horizon_days') -%}
    {%- set training_snapshots = int_var('churn_training_snapshots') -%}
    {%- set step = int_var('churn_snapshot_step_days') -%}
    {%- set refit = int_var('churn_refit_days') -%}
    select
        case offsets.snapshot_role
            when 'scoring' then run_date.as_of_date
            else run_date.model_date - cast(offsets.days_before_model_date as integer)
        end as snapshot_date,
        offsets.snapshot_role
    from (
        select
            as_of_date,
            as_of_date - cast(
                (({{ datetime_diff('day', "date '1970-01-05'", 'as_of_date') }} % {{ refit }}) + {{ refit }})
                % {{ refit }} as integer
            ) as model_date
        from {{ run_context }}
    ) as run_date
    cross join (
        select
            null as days_before_model_date,
            'scoring' as snapshot_role
        union all
        select
            {{ horizon }} as days_before_model_date,
            'validation' as snapshot_role
        union all
        select
            {{ 2 * horizon }} + steps.step_index * {{ step }} as days_before_model_date,
            'training' as snapshot_role
        from range({{ training_snapshots }}) as steps (step_index)
    ) as offsets
    where run_date.as_of_date is not null
{%- endmacro %}

{#- A var that must be a whole number above zero; anything else stops the
    compilation with the var's name and value. -#}
{#- A var that must be a whole number of at least `minimum`, as an int. -#}
{% macro int_var(name, minimum=1) -%}
    {%- set value = var(name) -%}
    {%- set text = value | string | trim -%}
    {%- if not text.isdigit() or text | int < minimum -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a whole number of at least " ~ minimum ~ ", got '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return(text | int) }}
{%- endmacro %}
