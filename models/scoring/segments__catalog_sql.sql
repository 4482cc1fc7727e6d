{#-
  Every segment of every stored model version, generated at compile time from the
  model histories: the SQL twin of the Python model segment_catalog, built where
  dbt Python models do not run.
-#}
{{ config(
    materialized='table',
    enabled=not segments_python_models_enabled(),
) }}

{{ segments_segment_catalog() }}
