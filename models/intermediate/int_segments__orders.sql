{#-
  One row per counting order: its date, revenue and channel (the first channel of
  its lines). Only what the features read: at 16M lines every extra aggregate
  costs a measurable share of the feature stage.
-#}
select
    customer_id,
    order_id,
    min(ordered_at) as ordered_at,
    sum(line_revenue) as order_revenue,
    min(channel) as channel
from {{ ref('segments', 'int_segments__order_lines') }}
group by customer_id, order_id
