{#-
  Order lines as the input contract defines them; absent optional columns become
  typed nulls. Keys and amounts keep the source's own types (casting 16M amounts to
  a wide decimal costs more than the whole RFM stage); timestamps and the
  case-insensitive text columns are normalised.
-#}
{%- set present = segments_require_source('order_lines', ['order_id', 'customer_id', 'ordered_at', 'quantity', 'unit_price']) -%}

select
    order_id,
    {{ segments_optional_column(present, 'line_number', dbt.type_int()) }} as line_number,
    customer_id,
    cast(ordered_at as {{ dbt.type_timestamp() }}) as ordered_at,
    {{ segments_optional_column(present, 'product_id', dbt.type_string(), cast_present=false) }} as product_id,
    quantity,
    unit_price,
    {{ segments_optional_column(present, 'discount', dbt.type_numeric(), cast_present=false) }} as discount,
    {{ segments_optional_column(present, 'channel', dbt.type_string(), 'lower(trim(channel))') }} as channel,
    {{ segments_optional_column(present, 'status', dbt.type_string(), 'lower(trim(status))') }} as status

from {{ segments_input('order_lines') }}
