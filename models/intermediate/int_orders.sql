{#- One row per counting order: its date, revenue and channel (the first channel of its lines). -#}
select
    customer_id,
    order_id,
    min(ordered_at) as ordered_at,
    sum(line_revenue) as order_revenue,
    sum(gross_amount) as gross_amount,
    sum(discount_amount) as discount_amount,
    count(*) as line_count,
    min(channel) as channel
from {{ ref('int_order_lines') }}
group by customer_id, order_id
