{#-
  Order lines as the input contract defines them; absent optional columns become
  typed nulls. Keys keep the source's own type and value; timestamps and numbers
  are conformed by macros/conform.sql (numeric types pass through unchanged);
  status is trimmed and case-folded, channel trimmed.
-#}
{%- do segments_require_source('order_lines', ['order_id', 'customer_id', 'ordered_at', 'quantity', 'unit_price']) -%}
{%- set columns = segments_source_columns('order_lines') -%}

select
    order_id,
    {{ segments_passthrough(columns, 'line_number', dbt.type_int()) }} as line_number,
    customer_id,
    {{ segments_conformed_timestamp('order_lines', columns, 'ordered_at') }} as ordered_at,
    {{ segments_passthrough(columns, 'product_id', dbt.type_string()) }} as product_id,
    {{ segments_conformed_number('order_lines', columns, 'quantity') }} as quantity,
    {{ segments_conformed_number('order_lines', columns, 'unit_price') }} as unit_price,
    {{ segments_conformed_number('order_lines', columns, 'discount') }} as discount,
    {{ segments_conformed_text(columns, 'channel') }} as channel,
    {{ segments_conformed_text(columns, 'status', "nullif(lower(trim(cast(status as " ~ dbt.type_string() ~ "))), '')") }} as status

from {{ segments_input('order_lines') }}
