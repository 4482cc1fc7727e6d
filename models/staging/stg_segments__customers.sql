{#- Customers (optional). When the table is absent this view is empty but keeps its shape. -#}
-- depends_on: {{ ref('segments', 'stg_segments__order_lines') }}
{% if segments_using('customers') -%}
{%- do segments_require_source('customers', ['customer_id']) -%}
{%- set columns = segments_source_columns('customers') -%}
select
    customer_id,
    {{ segments_conformed_text(columns, 'email', "nullif(lower(trim(email)), '')") }} as email,
    {{ segments_conformed_timestamp('customers', columns, 'created_at') }} as created_at,
    {{ segments_conformed_text(columns, 'country', "nullif(upper(trim(country)), '')") }} as country,
    {{ segments_conformed_text(columns, 'acquisition_channel') }} as acquisition_channel
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
