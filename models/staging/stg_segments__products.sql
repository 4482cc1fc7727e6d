{#- Products (optional). When the table is absent this view is empty but keeps its shape. -#}
-- depends_on: {{ ref('segments', 'stg_segments__order_lines') }}
{% if segments_using('products') -%}
{%- set present = segments_require_source('products', ['product_id', 'category']) -%}
select
    product_id,
    lower(trim(category)) as category,
    {{ segments_optional_column(present, 'brand', dbt.type_string(), 'trim(brand)') }} as brand
from {{ segments_input('products') }}
{%- else -%}
select
    cast(null as {{ dbt.type_string() }}) as product_id,
    cast(null as {{ dbt.type_string() }}) as category,
    cast(null as {{ dbt.type_string() }}) as brand
from {{ ref('segments', 'stg_segments__order_lines') }}
where 1 = 0
{%- endif %}
