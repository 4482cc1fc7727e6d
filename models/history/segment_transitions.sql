{#-
  Transition matrices: per view and pair of consecutive history dates, one row
  per (from segment, to segment) cell with the customers in it, staying put
  included. A null from_segment_id counts customers new on to_date, a null
  to_segment_id those gone from scope. probability is row-normalised: the share
  of the from segment's customers that went to the to segment.

  Incremental in the same way as segment_migrations (see the pre-hook in
  _history.yml).
-#}
{{ config(**segments_replace_date_config('to_date')) }}

with {{ segments_history_selected_pairs() }},

{{ segments_history_paired() }},

cells as (

    select
        view,
        from_date,
        to_date,
        from_segment_id,
        to_segment_id,
        max(from_segment_name) as from_segment_name,
        max(to_segment_name) as to_segment_name,
        count(*) as customers
    from paired
    group by 1, 2, 3, 4, 5

)

select
    view,
    from_date,
    to_date,
    from_segment_id,
    from_segment_name,
    to_segment_id,
    to_segment_name,
    cast(customers as {{ dbt.type_bigint() }}) as customers,
    {{ segments_safe_divide('customers', 'sum(customers) over (partition by view, from_date, to_date, from_segment_id)') }} as probability
from cells
