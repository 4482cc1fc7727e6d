{#-
  Transition matrices: per view and pair of consecutive history dates, one row
  per (from segment, to segment) cell with the customers in it, staying put
  included. A null from_segment_id counts customers new on to_date, a null
  to_segment_id those gone from scope. probability is row-normalised: the share
  of the from segment's customers that went to the to segment.

  Incremental in the same way as segment_migrations (see the pre-hook in
  _history.yml).
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

cells as (

    select
        coalesce(before_rows.view, after_rows.view) as view,
        coalesce(before_rows.from_date, after_rows.from_date) as from_date,
        coalesce(before_rows.to_date, after_rows.to_date) as to_date,
        before_rows.segment_id as from_segment_id,
        after_rows.segment_id as to_segment_id,
        max(before_rows.segment_name) as from_segment_name,
        max(after_rows.segment_name) as to_segment_name,
        count(*) as customers
    from before_rows
    full outer join after_rows
        on before_rows.to_date = after_rows.to_date
        and before_rows.customer_id = after_rows.customer_id
        and before_rows.view = after_rows.view
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
