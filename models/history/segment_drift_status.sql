{#-
  One row per as_of_date and view: the headline of segment_drift. drift_detected
  is true when any feature's PSI or the segment-share PSI is above the threshold;
  is_latest marks each view's newest date. This is the relation a refit rule
  reads: the newest row of a view with drift_detected = true means its model no
  longer describes today's customers.
-#}
with drift as (

    select * from {{ ref('segments', 'segment_drift') }}

),

ranked_features as (

    select
        as_of_date,
        view,
        measure,
        psi,
        row_number() over (partition by as_of_date, view order by psi desc, measure) as psi_rank
    from drift
    where measure_type = 'feature'

),

summary as (

    select
        as_of_date,
        view,
        max(model_version) as model_version,
        max(training_as_of_date) as training_as_of_date,
        max(reference_as_of_date) as reference_as_of_date,
        sum(case when measure_type = 'feature' then 1 else 0 end) as features_checked,
        sum(case when measure_type = 'feature' and is_drifted then 1 else 0 end) as features_drifted,
        max(case when measure_type = 'feature' then psi end) as max_feature_psi,
        max(case when measure_type = 'segment_share' then psi end) as segment_share_psi,
        max(psi_threshold) as psi_threshold
    from drift
    group by 1, 2

)

select
    summary.as_of_date,
    summary.view,
    summary.model_version,
    summary.training_as_of_date,
    summary.reference_as_of_date,
    cast(summary.features_checked as {{ dbt.type_int() }}) as features_checked,
    cast(summary.features_drifted as {{ dbt.type_int() }}) as features_drifted,
    summary.max_feature_psi,
    worst.measure as worst_feature,
    summary.segment_share_psi,
    summary.psi_threshold,
    coalesce(summary.max_feature_psi > summary.psi_threshold, false)
        or coalesce(summary.segment_share_psi > summary.psi_threshold, false) as drift_detected,
    summary.as_of_date = max(summary.as_of_date) over (partition by summary.view) as is_latest
from summary
left join ranked_features as worst
    on worst.as_of_date = summary.as_of_date
    and worst.view = summary.view
    and worst.psi_rank = 1
