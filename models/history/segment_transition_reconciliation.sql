{#-
  The audit behind segment_transitions: per view and pair of consecutive dates,
  customers in scope on each date counted straight from segment_history (the
  overlap by an inner join, not the full outer join the matrices use), next to
  the sums of the matrix cells. The tests in _history.yml require them to agree
  exactly: every customer in scope on either date sits in exactly one cell.

  Incremental in the same way as segment_migrations.
-#}
{{ config(**segments_replace_date_config('to_date')) }}

with {{ segments_history_selected_pairs() }},

per_date as (

    select as_of_date, view, count(*) as customers
    from {{ ref('segments', 'segment_history') }}
    where as_of_date in (select from_date from selected_pairs union all select to_date from selected_pairs)
    group by 1, 2

),

overlap as (

    select pairs.from_date, pairs.to_date, before_rows.view, count(*) as customers
    from selected_pairs as pairs
    inner join {{ ref('segments', 'segment_history') }} as before_rows
        on before_rows.as_of_date = pairs.from_date
    inner join {{ ref('segments', 'segment_history') }} as after_rows
        on after_rows.as_of_date = pairs.to_date
        and after_rows.customer_id = before_rows.customer_id
        and after_rows.view = before_rows.view
    group by 1, 2, 3

),

cells as (

    select
        transitions.view,
        transitions.from_date,
        transitions.to_date,
        sum(transitions.customers) as customers_in_cells,
        sum(case when transitions.from_segment_id is not null then transitions.customers else 0 end) as customers_in_from_cells,
        sum(case when transitions.to_segment_id is not null then transitions.customers else 0 end) as customers_in_to_cells
    from {{ ref('segments', 'segment_transitions') }} as transitions
    inner join selected_pairs as pairs
        on transitions.from_date = pairs.from_date
        and transitions.to_date = pairs.to_date
    group by 1, 2, 3

),

views_per_pair as (

    select distinct pairs.from_date, pairs.to_date, per_date.view
    from selected_pairs as pairs
    inner join per_date
        on per_date.as_of_date in (pairs.from_date, pairs.to_date)

)

select
    views_per_pair.view,
    views_per_pair.from_date,
    views_per_pair.to_date,
    cast(coalesce(on_from.customers, 0) as {{ dbt.type_bigint() }}) as customers_on_from_date,
    cast(coalesce(on_to.customers, 0) as {{ dbt.type_bigint() }}) as customers_on_to_date,
    cast(coalesce(overlap.customers, 0) as {{ dbt.type_bigint() }}) as customers_on_both_dates,
    cast(coalesce(on_from.customers, 0) + coalesce(on_to.customers, 0) - coalesce(overlap.customers, 0)
        as {{ dbt.type_bigint() }}) as customers_on_either_date,
    cast(coalesce(cells.customers_in_cells, 0) as {{ dbt.type_bigint() }}) as customers_in_cells,
    cast(coalesce(cells.customers_in_from_cells, 0) as {{ dbt.type_bigint() }}) as customers_in_from_cells,
    cast(coalesce(cells.customers_in_to_cells, 0) as {{ dbt.type_bigint() }}) as customers_in_to_cells
from views_per_pair
left join per_date as on_from
    on on_from.as_of_date = views_per_pair.from_date
    and on_from.view = views_per_pair.view
left join per_date as on_to
    on on_to.as_of_date = views_per_pair.to_date
    and on_to.view = views_per_pair.view
left join overlap
    on overlap.from_date = views_per_pair.from_date
    and overlap.to_date = views_per_pair.to_date
    and overlap.view = views_per_pair.view
left join cells
    on cells.from_date = views_per_pair.from_date
    and cells.to_date = views_per_pair.to_date
    and cells.view = views_per_pair.view
