{#- Products (optional). When the table is absent this view is empty but keeps its shape. -#}
-- depends_on: {{ ref('segments', 'stg_segments__order_lines') }}
{% if segments_using('products') -%}
{%- do segments_require_source('products', ['product_id', 'category']) -%}
{%- set columns = segments_source_columns('products') -%}
select
    product_id,
    {{ segments_conformed_text(columns, 'category') }} as category,
    {{ segments_conformed_text(columns, 'brand') }} as brand
from {{ segments_input('products') }}
{%- else -%}
select
    cast(null as {{ dbt.type_string() }}) as product_id,
    cast(null as {{ dbt.type_string() }}) as category,
    cast(null as {{ dbt.type_string() }}) as brand
from {{ ref('segments', 'stg_segments__order_lines') }}
where 1 = 0
{%- endif %}
