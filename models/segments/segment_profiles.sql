{#-
  Segment profiles per view x segment x as_of_date: size, share, average confidence,
  feature means and z-scores (JSON), with seed overrides applied to the name.
  Like segment_assignments, each run replaces its own as_of_date.
-#}
{{ config(
    on_schema_change='append_new_columns',
    **segments_replace_date_config('as_of_date'),
) }}

{{ segments_union_views_named(segments_ref_profiles, [
    ['view', 'view'],
    ['as_of_date', 'cast(as_of_date as date)'],
    ['segment_id', 'cast(segment_id as ' ~ dbt.type_int() ~ ')'],
    ['generated_name', 'segment_name'],
    ['model_version', 'cast(model_version as ' ~ dbt.type_int() ~ ')'],
    ['size', 'cast(size as ' ~ dbt.type_bigint() ~ ')'],
    ['share', 'cast(share as ' ~ segments_type_double() ~ ')'],
    ['avg_confidence', 'cast(avg_confidence as ' ~ segments_type_double() ~ ')'],
    ['feature_means', 'feature_means'],
    ['feature_z_scores', 'feature_z_scores'],
    ['top_features', 'top_features'],
]) }}
