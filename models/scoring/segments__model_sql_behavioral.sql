{#-
  Fitted model versions of the behavioral view where dbt Python models do not run
  (Postgres, Spark, Redshift, ...): `segments fit --view behavioral` appends a version,
  dbt never rewrites it. Same columns as the Python model segments__model_behavioral.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
    enabled=not segments_python_models_enabled(),
) }}

{{ segments_model_store('behavioral') }}
