{#- Every raw order line is excluded, filtered or counted, exactly once: the three add up to the table. -#}
select accounted, table_rows
from (
    select
        sum(case when action in ('excluded', 'filtered', 'counted') then row_count else 0 end) as accounted,
        max(table_rows) as table_rows
    from {{ ref('segments', 'data_quality') }}
    where table_name = 'order_lines'
) as lines
where accounted <> table_rows
    or table_rows <> (select count(*) from {{ ref('segments', 'stg_segments__order_lines') }})
