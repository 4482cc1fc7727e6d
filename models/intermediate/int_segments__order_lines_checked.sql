{#-
  Every staged order line with the first contract rule it breaks, if any.
  A duplicate line key keeps its first copy; the extra copies are flagged.
  Without line_number, the key is the whole row (exact duplicates).
  A view: its two readers (int_segments__order_lines, data_quality) each scan it once,
  which is cheaper than writing every raw line to a table.
-#}
{{ config(materialized='view') }}
{%- set present = segments_column_names('order_lines') -%}
{%- if present is none or 'line_number' in present -%}
  {%- set line_key = ['order_id', 'line_number'] -%}
{%- else -%}
  {%- set line_key = ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price', 'discount', 'channel', 'status'] -%}
{%- endif -%}
{%- set statuses = segments_known_statuses() -%}

with keyed as (

    select
        *,
        row_number() over (
            partition by {{ line_key | join(', ') }}
            order by ordered_at, customer_id, quantity, unit_price
        ) as key_occurrence
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
        when status is not null and status not in (
            {%- for s in statuses %}{{ segments_string_literal(s) }}{{ ', ' if not loop.last }}{% endfor -%}
        ) then 'unknown_status'
        when key_occurrence > 1 then 'duplicate_line_key'
    end as dq_reason
from keyed
