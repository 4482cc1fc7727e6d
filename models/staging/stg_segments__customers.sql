{#- Customers (optional). When the table is absent this view is empty but keeps its shape. -#}
-- depends_on: {{ ref('segments', 'stg_segments__order_lines') }}
{% if segments_using('customers') -%}
{%- set present = segments_require_source('customers', ['customer_id']) -%}
select
    customer_id,
    {{ segments_optional_column(present, 'email', dbt.type_string(), 'lower(trim(email))') }} as email,
    {{ segments_optional_column(present, 'created_at', dbt.type_timestamp()) }} as created_at,
    {{ segments_optional_column(present, 'country', dbt.type_string(), 'upper(trim(country))') }} as country,
    {{ segments_optional_column(present, 'acquisition_channel', dbt.type_string(), 'lower(trim(acquisition_channel))') }} as acquisition_channel
from {{ segments_input('customers') }}
{%- else -%}
select
    customer_id,
    cast(null as {{ dbt.type_string() }}) as email,
    cast(null as {{ dbt.type_timestamp() }}) as created_at,
    cast(null as {{ dbt.type_string() }}) as country,
    cast(null as {{ dbt.type_string() }}) as acquisition_channel
from {{ ref('segments', 'stg_segments__order_lines') }}
where 1 = 0
{%- endif %}
