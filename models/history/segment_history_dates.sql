{#-
  One row per as_of_date and view recorded in segment_history: how many rows and
  customers it holds and whether any key is missing. Incremental runs summarise
  the run's own date only (delete+insert on as_of_date), so the checks on history
  in _history.yml cost the same on the first date as on the hundredth; a first
  build summarises every recorded date.
-#}
-- depends_on: {{ ref('segments', 'int_segments__as_of_date') }}
{{ config(**segments_replace_date_config('as_of_date')) }}

select
    history.as_of_date,
    history.view,
    cast(count(*) as {{ dbt.type_bigint() }}) as history_rows,
    cast(count(distinct history.customer_id) as {{ dbt.type_bigint() }}) as customers,
    cast(count(distinct history.segment_id) as {{ dbt.type_int() }}) as segments,
    cast(sum(case when history.customer_id is null then 1 else 0 end) as {{ dbt.type_bigint() }}) as missing_customer_ids,
    cast(sum(case when history.segment_id is null then 1 else 0 end) as {{ dbt.type_bigint() }}) as missing_segment_ids,
    min(history.confidence) as min_confidence,
    max(history.confidence) as max_confidence,
    max(history.model_version) as model_version
from {{ ref('segments', 'segment_history') }} as history
{%- if is_incremental() %}
where history.as_of_date = {{ segments_as_of_date() }}
{%- endif %}
group by 1, 2
