{#-
  Every fitted model version of every view, newest flagged with is_latest. The
  per-view history tables (segment_model_<view>) are the system of record; this is
  their union for reporting.
-#}
{%- set views = ['value', 'behavioral', 'channel'] %}

with unioned as (
    {%- for view in views %}
    select
        view,
        cast(model_version as {{ dbt.type_int() }}) as model_version,
        algorithm,
        cast(k as {{ dbt.type_int() }}) as k,
        fitted_at,
        cast(training_as_of_date as date) as training_as_of_date,
        fit_reason,
        n_customers,
        n_train,
        silhouette,
        calinski_harabasz,
        davies_bouldin,
        stability_ari,
        max_drift_psi,
        segment_ids,
        segment_names,
        segment_jaccard,
        parameters,
        quality,
        config_fingerprint
    from {{ segments_ref_model_history(view) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    unioned.*,
    model_version = max(model_version) over (partition by view) as is_latest
from unioned
