{#-
  Every customer's value segment scored in SQL from the stored model (see
  macros/scoring/score.sql). Built instead of the Python model
  segments__assignments_value when var segments_scoring picks sql for this view, and
  always on adapters without dbt Python models.
-#}
{{ config(
    materialized='table',
    enabled=segments_scoring_mode('value') == 'sql',
) }}

{{ segments_score_assignments('value', segments_ref_model_history('value'), ref('segments', 'customer_features')) }}
