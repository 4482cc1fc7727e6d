{#- Revenue, gross amount and discount per customer and category (category is null without product data). -#}
select
    customer_id,
    category,
    sum(line_revenue) as revenue,
    sum(gross_amount) as gross_amount,
    sum(discount_amount) as discount_amount
from {{ ref('segments', 'int_segments__order_lines') }}
group by customer_id, category
