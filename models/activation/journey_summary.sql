{#-
  One row per journey of the segments__journey_rules seed: its settings and what it has
  triggered so far, incl. the realised control-group share. The tests in
  _activation.yml check that each journey has one cool-down and one control
  percentage, and that the control share stays within four binomial standard
  errors of control_pct once a journey has enough triggers
  (var segments_control_share_min_triggers).
-#}
with rules as (

    select
        trim(journey) as journey,
        count(*) as rules,
        count(distinct coalesce(cooldown_days, 0)) as cooldown_settings,
        count(distinct coalesce(control_pct, 0)) as control_pct_settings,
        max(coalesce(cooldown_days, 0)) as cooldown_days,
        max(coalesce(control_pct, 0)) as control_pct
    from {{ ref('segments', 'segments__journey_rules') }}
    group by 1

),

triggered as (

    select
        journey,
        count(*) as triggers,
        sum(case when is_control then 1 else 0 end) as control_triggers,
        count(distinct customer_id) as customers,
        min(triggered_on) as first_triggered_on,
        max(triggered_on) as last_triggered_on
    from {{ ref('segments', 'journey_triggers') }}
    group by 1

)

select
    rules.journey,
    cast(rules.rules as {{ dbt.type_int() }}) as rules,
    cast(rules.cooldown_settings as {{ dbt.type_int() }}) as cooldown_settings,
    cast(rules.control_pct_settings as {{ dbt.type_int() }}) as control_pct_settings,
    cast(rules.cooldown_days as {{ dbt.type_int() }}) as cooldown_days,
    cast(rules.control_pct as {{ segments_type_double() }}) as control_pct,
    cast(coalesce(triggered.triggers, 0) as {{ dbt.type_bigint() }}) as triggers,
    cast(coalesce(triggered.control_triggers, 0) as {{ dbt.type_bigint() }}) as control_triggers,
    cast(coalesce(triggered.customers, 0) as {{ dbt.type_bigint() }}) as customers,
    triggered.first_triggered_on,
    triggered.last_triggered_on,
    {{ segments_safe_divide('triggered.control_triggers', 'triggered.triggers') }} as control_share,
    {#- four standard errors of a binomial share: a false alarm about once in 16,000 journeys -#}
    4 * sqrt(
        {{ segments_safe_divide('(rules.control_pct / 100.0) * (1 - rules.control_pct / 100.0)', 'triggered.triggers') }}
    ) as control_share_tolerance
from rules
left join triggered
    on rules.journey = triggered.journey
