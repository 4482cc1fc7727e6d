{#-
  Profiles of the behavioral segments scored in SQL (see macros/scoring/profiles.sql): built
  instead of the Python model segments__profiles_behavioral whenever the view is scored in SQL.
-#}
{{ config(
    materialized='table',
    enabled=segments_scoring_mode('behavioral') == 'sql',
) }}

{{ segments_segment_profiles(
    'behavioral',
    ref('segments', 'segments__assignments_sql_behavioral'),
    segments_ref_model_history('behavioral'),
    ref('segments', 'customer_features'),
) }}
