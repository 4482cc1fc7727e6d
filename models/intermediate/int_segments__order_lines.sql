{#-
  The lines that count for features on the run's as_of_date: valid under the
  contract, not of an excluded status (var segments_excluded_statuses), ordered
  strictly before as_of_date. A view: int_segments__orders and
  int_segments__customer_category_revenue each aggregate it in one pass, which costs less
  than writing every counting line to a table first.
-#}
{{ config(materialized='view') }}
{%- set with_categories = segments_has_categories() -%}

select
    lines.order_id,
    lines.line_number,
    lines.customer_id,
    lines.ordered_at,
    lines.quantity * lines.unit_price as gross_amount,
    coalesce(lines.discount, 0) as discount_amount,
    lines.quantity * lines.unit_price - coalesce(lines.discount, 0) as line_revenue,
    coalesce(lines.channel, 'unknown') as channel,
    {%- if with_categories %}
    coalesce(products.category, 'unknown') as category
    {%- else %}
    cast(null as {{ dbt.type_string() }}) as category
    {%- endif %}
from {{ ref('segments', 'int_segments__order_lines_checked') }} as lines
{%- if with_categories %}
left join {{ ref('segments', 'int_segments__products') }} as products
    on {{ segments_keys_match('product_id', ref('segments', 'int_segments__order_lines_checked'), 'lines', ref('segments', 'int_segments__products'), 'products') }}
{%- endif %}
where lines.dq_reason is null
    and {{ segments_line_counts('lines.status') }}
    and lines.ordered_at < {{ segments_as_of_date() }}
