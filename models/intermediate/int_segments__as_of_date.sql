{#-
  The run's point in time: var as_of_date, or the day after the newest valid,
  counting order line (the row rules of int_segments__order_lines_checked; a duplicate never
  changes the newest date, so the costly duplicate check is left out here).
  Only rows strictly before it count anywhere downstream.
-#}
{%- set as_of = var('as_of_date', none) -%}
select
{%- if as_of %}
    cast({{ segments_string_literal(as_of) }} as date) as as_of_date
{%- else %}
    cast({{ dbt.dateadd('day', 1, 'max(cast(ordered_at as date))') }} as date) as as_of_date
from {{ ref('segments', 'stg_segments__order_lines') }}
where customer_id is not null
    and ordered_at is not null
    and quantity > 0
    and unit_price is not null
    and {{ segments_line_counts() }}
{%- endif %}
