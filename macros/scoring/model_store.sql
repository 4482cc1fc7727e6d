{#-
  The model history table that `segments fit` appends to on adapters without dbt
  Python models: the same columns as the Python model segments__model_<view>
  (segmentation.model_store.MODEL_COLUMNS), so segment_models and SQL scoring read
  either one the same way.
-#}

{% macro segments_model_store_columns() -%}
  {#- [(column, SQL type)] in MODEL_COLUMNS order. -#}
  {%- set text = dbt.type_string() -%}
  {%- set bigint = dbt.type_bigint() -%}
  {%- set ts = dbt.type_timestamp() -%}
  {%- set double = segments_type_double() -%}
  {{ return([
      ('view', text), ('model_version', bigint), ('algorithm', text), ('k', bigint),
      ('fitted_at', ts), ('training_as_of_date', ts), ('fit_reason', text),
      ('n_customers', bigint), ('n_train', bigint),
      ('silhouette', double), ('calinski_harabasz', double), ('davies_bouldin', double),
      ('stability_ari', double), ('max_drift_psi', double),
      ('segment_ids', text), ('segment_names', text), ('segment_jaccard', text),
      ('parameters', text), ('quality', text), ('config_fingerprint', text),
  ]) }}
{%- endmacro %}


{% macro segments_model_store(view) -%}
  {#-
    Body of segments__model_sql_<view>: an incremental model that never adds rows
    itself. The first build creates the empty, typed table; `segments fit` appends
    model versions to it; later builds keep them (full_refresh is off, because the
    history is the system of record for segment ids).
  -#}
  {%- set columns = segments_model_store_columns() -%}
  {%- if is_incremental() %}
select * from {{ this }} where 1 = 0
  {%- else %}
select
    {%- for name, sql_type in columns %}
    cast(null as {{ sql_type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from (select 1 as one) as empty_model_store
where 1 = 0
  {%- endif %}
{%- endmacro %}
