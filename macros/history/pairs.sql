{#-
  The date pairing that segment_migrations, segment_transitions and
  segment_transition_reconciliation share, so the three cannot disagree on which
  dates make a pair. Each macro renders common table expressions for a `with`.
-#}

{% macro segments_history_selected_pairs() -%}
{#-
  CTE selected_pairs (from_date, to_date): consecutive dates of segment_history.
  An incremental run keeps only the pairs its as_of_date can change: (previous
  date, run date) and (run date, next date).
-#}
run_date as (

    select as_of_date from {{ ref('segments', 'int_segments__as_of_date') }}

),

history_dates as (

    select distinct as_of_date from {{ ref('segments', 'segment_history') }}

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

)
{%- endmacro %}


{% macro segments_history_paired() -%}
{#-
  CTE paired: for every selected pair, each customer and view in scope on either
  date, with the segment on each side (null where out of scope on that date).
  Needs selected_pairs.
-#}
{%- for side, on_date in [('before_rows', 'from_date'), ('after_rows', 'to_date')] %}
{{ side }} as (

    select pairs.from_date, pairs.to_date, history.customer_id, history.view, history.segment_id, history.segment_name
    from {{ ref('segments', 'segment_history') }} as history
    inner join selected_pairs as pairs
        on history.as_of_date = pairs.{{ on_date }}

),
{% endfor %}
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
{%- endmacro %}
