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
{{ config(**segments_replace_date_config('to_date')) }}

with {{ segments_history_selected_pairs() }},

{{ segments_history_paired() }}

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
