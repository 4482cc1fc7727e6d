{#-
  The system of record of who was in which segment when: one row per customer,
  view and as_of_date. Each dbt build adds the assignments of its own as_of_date;
  a repeated date replaces that date's rows (delete+insert on as_of_date), so
  re-running a date changes nothing when its inputs are unchanged. Besides the
  segmentation views, the rule-based RFM cell is recorded as the pseudo-view
  'rfm' so journeys can react to RFM cell changes.

  History cannot be rebuilt from today's data, so --full-refresh is ignored
  unless var segments_history_allow_full_refresh is true.
-#}
{{ config(
    full_refresh=var('segments_history_allow_full_refresh', false),
    on_schema_change='fail',
    **segments_replace_date_config('as_of_date'),
) }}

with run_date as (

    select as_of_date from {{ ref('segments', 'int_segments__as_of_date') }}

),

assignments as (

    select
        cast(assignments.as_of_date as date) as as_of_date,
        assignments.customer_id,
        cast(assignments.view as {{ dbt.type_string() }}) as view,
        cast(assignments.segment_id as {{ dbt.type_int() }}) as segment_id,
        cast(assignments.segment_name as {{ dbt.type_string() }}) as segment_name,
        cast(assignments.confidence as {{ segments_type_double() }}) as confidence,
        cast(assignments.model_version as {{ dbt.type_string() }}) as model_version
    from {{ ref('segments', 'segment_assignments') }} as assignments
    inner join run_date
        on cast(assignments.as_of_date as date) = run_date.as_of_date

),

{#- RFM cell names get small stable ids: their rank in the grid's sorted names. -#}
rfm_ids as (

    select
        rfm_segment,
        cast(row_number() over (order by rfm_segment) as {{ dbt.type_int() }}) as segment_id
    from (select distinct rfm_segment from {{ ref('segments', 'segments__rfm_segment_grid') }}) as names

),

rfm as (

    select
        cast(rfm.as_of_date as date) as as_of_date,
        rfm.customer_id,
        cast('rfm' as {{ dbt.type_string() }}) as view,
        rfm_ids.segment_id,
        cast(rfm.rfm_segment as {{ dbt.type_string() }}) as segment_name,
        cast(1.0 as {{ segments_type_double() }}) as confidence,
        cast('rfm_grid' as {{ dbt.type_string() }}) as model_version
    from {{ ref('segments', 'customer_rfm') }} as rfm
    inner join run_date
        on cast(rfm.as_of_date as date) = run_date.as_of_date
    left join rfm_ids
        on rfm.rfm_segment = rfm_ids.rfm_segment

)

select * from assignments
union all
select * from rfm
