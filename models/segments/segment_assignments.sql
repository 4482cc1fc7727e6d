{#-
  Long table of segment assignments: one row per customer x view x as_of_date.
  Each run replaces the rows of its own as_of_date (the project's replace-a-date
  strategy: delete+insert, insert_overwrite on Spark), so rebuilding a date is
  idempotent and earlier dates stay as history. Names come from the stored model
  unless the segment_name_overrides seed renames the segment; the generated name is
  kept beside it.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=segments_replace_date_strategy(),
    partition_by=segments_replace_date_partition('as_of_date'),
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
) }}

{%- set views = ['value', 'behavioral', 'channel'] %}

with unioned as (
    {%- for view in views %}
    select
        customer_id,
        cast(as_of_date as date) as as_of_date,
        view,
        cast(segment_id as {{ dbt.type_int() }}) as segment_id,
        segment_name as generated_name,
        cast(confidence as {{ segments_type_double() }}) as confidence,
        cast(model_version as {{ dbt.type_int() }}) as model_version
    from {{ segments_ref_assignments(view) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    unioned.customer_id,
    unioned.as_of_date,
    unioned.view,
    unioned.segment_id,
    coalesce(overrides.segment_name, unioned.generated_name) as segment_name,
    unioned.generated_name,
    unioned.confidence,
    unioned.model_version
from unioned
left join {{ ref('segment_name_overrides') }} as overrides
    on overrides.view = unioned.view
    and overrides.segment_id = unioned.segment_id
