{#-
  Profiles of the channel segments scored in SQL (see macros/scoring/profiles.sql): built
  instead of the Python model segments__profiles_channel whenever the view is scored in SQL.
-#}
{{ config(
    materialized='table',
    enabled=segments_scoring_mode('channel') == 'sql',
) }}

{{ segments_segment_profiles(
    'channel',
    ref('segments', 'segments__assignments_sql_channel'),
    segments_ref_model_history('channel'),
    ref('segments', 'customer_features'),
) }}
