{#-
  Profiles of the value segments scored in SQL (see macros/scoring/profiles.sql): built
  instead of the Python model segments__profiles_value whenever the view is scored in SQL.
-#}
{{ config(
    materialized='table',
    enabled=segments_scoring_mode('value') == 'sql',
) }}

{{ segments_segment_profiles(
    'value',
    ref('segments', 'segments__assignments_sql_value'),
    segments_ref_model_history('value'),
    ref('segments', 'customer_features'),
) }}
