{#-
  Every change of segment between consecutive dates of segment_history: one row
  per customer, view and pair of dates where the segment differs. A customer new
  on to_date enters from a null segment ('entry'); one no longer in scope exits to
  a null segment ('exit'); nobody is lost.

  Incremental: a run recomputes only the pairs that its as_of_date can change,
  (previous date, run date) and (run date, next date). The pre-hook in
  _history.yml first deletes the rows of those to_dates, which also removes the
  pair the run date was inserted into when dates are backfilled out of order.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=segments_replace_date_strategy(),
    partition_by=segments_replace_date_partition('to_date'),
    unique_key='to_date',
) }}

with run_date as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

history_dates as (

    select distinct as_of_date from {{ ref('segment_history') }}

),

date_pairs as (

    select
        lag(as_of_date) over (order by as_of_date) as from_date,
        as_of_date as to_date
    from history_dates

),

selected_pairs as (

    select from_date, to_date
    from date_pairs
    where from_date is not null
    {%- if is_incremental() %}
        and (from_date = (select as_of_date from run_date) or to_date = (select as_of_date from run_date))
    {%- endif %}

),

before_rows as (

    select pairs.from_date, pairs.to_date, history.customer_id, history.view, history.segment_id, history.segment_name
    from {{ ref('segment_history') }} as history
    inner join selected_pairs as pairs
        on history.as_of_date = pairs.from_date

),

after_rows as (

    select pairs.from_date, pairs.to_date, history.customer_id, history.view, history.segment_id, history.segment_name
    from {{ ref('segment_history') }} as history
    inner join selected_pairs as pairs
        on history.as_of_date = pairs.to_date

),

paired as (

    select
        coalesce(before_rows.customer_id, after_rows.customer_id) as customer_id,
        coalesce(before_rows.view, after_rows.view) as view,
        coalesce(before_rows.from_date, after_rows.from_date) as from_date,
        coalesce(before_rows.to_date, after_rows.to_date) as to_date,
        before_rows.customer_id is not null as in_scope_before,
        after_rows.customer_id is not null as in_scope_after,
        before_rows.segment_id as from_segment_id,
        before_rows.segment_name as from_segment_name,
        after_rows.segment_id as to_segment_id,
        after_rows.segment_name as to_segment_name
    from before_rows
    full outer join after_rows
        on before_rows.to_date = after_rows.to_date
        and before_rows.customer_id = after_rows.customer_id
        and before_rows.view = after_rows.view

)

select
    customer_id,
    view,
    from_date,
    to_date,
    from_segment_id,
    from_segment_name,
    to_segment_id,
    to_segment_name,
    case
        when not in_scope_before then 'entry'
        when not in_scope_after then 'exit'
        else 'move'
    end as migration_type
from paired
where from_segment_id is distinct from to_segment_id
    or in_scope_before <> in_scope_after
