{#-
  Every customer's channel segment scored in SQL from the stored model (see
  macros/scoring/score.sql). Built instead of the Python model
  segments__assignments_channel when var segments_scoring picks sql for this view, and
  always on adapters without dbt Python models.
-#}
{{ config(
    materialized='table',
    enabled=segments_scoring_mode('channel') == 'sql',
) }}

{{ segments_score_assignments('channel', segments_ref_model_history('channel'), ref('segments', 'customer_features')) }}
