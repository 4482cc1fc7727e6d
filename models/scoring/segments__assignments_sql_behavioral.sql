{#-
  Every customer's behavioral segment scored in SQL from the stored model (see
  macros/scoring/score.sql). Built instead of the Python model
  segments__assignments_behavioral when var segments_scoring picks sql for this view, and
  always on adapters without dbt Python models.
-#}
{{ config(
    materialized='table',
    enabled=segments_scoring_mode('behavioral') == 'sql',
) }}

{{ segments_score_assignments('behavioral', segments_ref_model_history('behavioral'), ref('segments', 'customer_features')) }}
