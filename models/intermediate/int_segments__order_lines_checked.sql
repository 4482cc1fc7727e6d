{#-
  Every staged order line with the first contract rule it breaks, if any.
  With a line key (var segments_line_key; by default order_id and line_number when
  the source has line_number) the first copy of a key is kept and the extra copies
  are flagged duplicate_line_key. Without one no line is a duplicate: two identical
  rows can be the same product sold twice in one order. Exact duplicate rows are
  counted in data_quality as a warning either way.
  Statuses never make a line invalid: a line counts unless its status is excluded
  (int_segments__order_lines), and unrecognised statuses are listed in data_quality.
  A view: its two readers (int_segments__order_lines, data_quality) each scan it once,
  which is cheaper than writing every raw line to a table.
-#}
{{ config(materialized='view') }}
{%- set line_key = segments_line_key() -%}

with keyed as (

    select
        *,
        {%- if line_key %}
        row_number() over (
            partition by {{ line_key | join(', ') }}
            order by ordered_at, customer_id, quantity, unit_price
        ) as key_occurrence
        {%- else %}
        1 as key_occurrence
        {%- endif %}
    from {{ ref('segments', 'stg_segments__order_lines') }}

)

select
    order_id,
    line_number,
    customer_id,
    ordered_at,
    product_id,
    quantity,
    unit_price,
    discount,
    channel,
    status,
    case
        when customer_id is null then 'null_customer_id'
        when ordered_at is null then 'null_ordered_at'
        when quantity is null or quantity <= 0 then 'non_positive_quantity'
        when unit_price is null then 'null_unit_price'
        when key_occurrence > 1 then 'duplicate_line_key'
    end as dq_reason
from keyed
