{#-
  Per view, segment and pair of consecutive history dates: how many customers the
  segment held on each date, how many stayed, moved to another segment, left
  scope, moved in or arrived new. stay_rate = stayed / customers_start.
  Derived from segment_transitions (views x dates x segments^2 rows), so a full
  rebuild is cheap.
-#}
with transitions as (

    select * from {{ ref('segments', 'segment_transitions') }}

),

outgoing as (

    select
        view,
        from_date,
        to_date,
        from_segment_id as segment_id,
        max(from_segment_name) as segment_name,
        sum(customers) as customers_start,
        sum(case when to_segment_id = from_segment_id then customers else 0 end) as stayed,
        sum(case when to_segment_id is not null and to_segment_id <> from_segment_id then customers else 0 end) as moved_out,
        sum(case when to_segment_id is null then customers else 0 end) as exited
    from transitions
    where from_segment_id is not null
    group by 1, 2, 3, 4

),

incoming as (

    select
        view,
        from_date,
        to_date,
        to_segment_id as segment_id,
        max(to_segment_name) as segment_name,
        sum(customers) as customers_end,
        sum(case when from_segment_id is not null and from_segment_id <> to_segment_id then customers else 0 end) as moved_in,
        sum(case when from_segment_id is null then customers else 0 end) as entered
    from transitions
    where to_segment_id is not null
    group by 1, 2, 3, 4

)

select
    coalesce(outgoing.view, incoming.view) as view,
    coalesce(outgoing.from_date, incoming.from_date) as from_date,
    coalesce(outgoing.to_date, incoming.to_date) as to_date,
    coalesce(outgoing.segment_id, incoming.segment_id) as segment_id,
    coalesce(incoming.segment_name, outgoing.segment_name) as segment_name,
    cast(coalesce(outgoing.customers_start, 0) as {{ dbt.type_bigint() }}) as customers_start,
    cast(coalesce(incoming.customers_end, 0) as {{ dbt.type_bigint() }}) as customers_end,
    cast(coalesce(outgoing.stayed, 0) as {{ dbt.type_bigint() }}) as stayed,
    cast(coalesce(outgoing.moved_out, 0) as {{ dbt.type_bigint() }}) as moved_out,
    cast(coalesce(outgoing.exited, 0) as {{ dbt.type_bigint() }}) as exited,
    cast(coalesce(incoming.moved_in, 0) as {{ dbt.type_bigint() }}) as moved_in,
    cast(coalesce(incoming.entered, 0) as {{ dbt.type_bigint() }}) as entered,
    {{ segments_safe_divide('outgoing.stayed', 'outgoing.customers_start') }} as stay_rate
from outgoing
full outer join incoming
    on outgoing.view = incoming.view
    and outgoing.to_date = incoming.to_date
    and outgoing.segment_id = incoming.segment_id
