{#-
  The run's point in time: var as_of_date, or the day after the newest valid order line.
  Only rows strictly before it count anywhere downstream.
-#}
{%- set as_of = var('as_of_date', none) -%}
select
{%- if as_of %}
    cast({{ segments_sql_string(as_of) }} as date) as as_of_date
{%- else %}
    cast({{ dbt.dateadd('day', 1, 'max(cast(ordered_at as date))') }} as date) as as_of_date
from {{ ref('int_order_lines_checked') }}
where dq_reason is null
{%- endif %}
