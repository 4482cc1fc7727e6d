{#-
  Segment profiles per view x segment x as_of_date: size, share, average confidence,
  feature means and z-scores (JSON), with seed overrides applied to the name.
  Like segment_assignments, each run replaces its own as_of_date.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=segments_replace_date_strategy(),
    partition_by=segments_replace_date_partition('as_of_date'),
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
) }}

{%- set views = ['value', 'behavioral', 'channel'] %}

with unioned as (
    {%- for view in views %}
    select
        view,
        cast(as_of_date as date) as as_of_date,
        cast(segment_id as {{ dbt.type_int() }}) as segment_id,
        segment_name as generated_name,
        cast(model_version as {{ dbt.type_int() }}) as model_version,
        cast(size as {{ dbt.type_bigint() }}) as size,
        cast(share as {{ segments_type_double() }}) as share,
        cast(avg_confidence as {{ segments_type_double() }}) as avg_confidence,
        feature_means,
        feature_z_scores,
        top_features
    from {{ segments_ref_profiles(view) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    unioned.view,
    unioned.as_of_date,
    unioned.segment_id,
    coalesce(overrides.segment_name, unioned.generated_name) as segment_name,
    unioned.generated_name,
    unioned.model_version,
    unioned.size,
    unioned.share,
    unioned.avg_confidence,
    unioned.feature_means,
    unioned.feature_z_scores,
    unioned.top_features
from unioned
left join {{ ref('segment_name_overrides') }} as overrides
    on overrides.view = unioned.view
    and overrides.segment_id = unioned.segment_id
