{#-
  Rows that break the input contract, counted per table and reason, never
  dropped silently. Every known reason appears, with zero rows where none broke
  it, so a dashboard or a test reads one stable shape. `share` is the reason's
  rows over the table's rows.
-#}
{%- set line_reasons = ['null_customer_id', 'null_ordered_at', 'non_positive_quantity', 'null_unit_price', 'unknown_status', 'duplicate_line_key'] -%}

with line_counts as (

    select
        'order_lines' as table_name,
        dq_reason as reason,
        count(*) as row_count
    from {{ ref('segments', 'int_segments__order_lines_checked') }}
    group by dq_reason

),

customer_counts as (

    select
        'customers' as table_name,
        case
            when customer_id is null then 'null_customer_id'
            when row_number() over (partition by customer_id order by created_at desc, email) > 1 then 'duplicate_customer_id'
        end as reason
    from {{ ref('segments', 'stg_segments__customers') }}

),

product_counts as (

    select
        'products' as table_name,
        case
            when product_id is null then 'null_product_id'
            when row_number() over (partition by product_id order by category, brand) > 1 then 'duplicate_product_id'
        end as reason
    from {{ ref('segments', 'stg_segments__products') }}

),

event_counts as (

    select
        'engagement_events' as table_name,
        case
            when customer_id is null then 'null_customer_id'
            when occurred_at is null then 'null_occurred_at'
            when event_type is null then 'null_event_type'
        end as reason
    from {{ ref('segments', 'stg_segments__engagement_events') }}

),

counted as (

    select table_name, reason, row_count from line_counts
    {%- for cte in ['customer_counts', 'product_counts', 'event_counts'] %}
    union all
    select table_name, reason, count(*) as row_count from {{ cte }} group by table_name, reason
    {%- endfor %}

),

expected as (

    {%- set expected_rows = [] -%}
    {%- for r in line_reasons %}{% do expected_rows.append(('order_lines', r)) %}{% endfor -%}
    {%- for r in ['null_customer_id', 'duplicate_customer_id'] %}{% do expected_rows.append(('customers', r)) %}{% endfor -%}
    {%- for r in ['null_product_id', 'duplicate_product_id'] %}{% do expected_rows.append(('products', r)) %}{% endfor -%}
    {%- for r in ['null_customer_id', 'null_occurred_at', 'null_event_type'] %}{% do expected_rows.append(('engagement_events', r)) %}{% endfor %}
    {%- for table_name, reason in expected_rows %}
    select {{ segments_string_literal(table_name) }} as table_name, {{ segments_string_literal(reason) }} as reason
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

totals as (

    select table_name, sum(row_count) as total_rows
    from counted
    group by table_name

)

select
    expected.table_name,
    expected.reason,
    cast(coalesce(counted.row_count, 0) as {{ dbt.type_bigint() }}) as rows_excluded,
    cast(coalesce(totals.total_rows, 0) as {{ dbt.type_bigint() }}) as table_rows,
    coalesce({{ segments_safe_divide('counted.row_count', 'totals.total_rows') }}, 0) as share,
    {{ segments_as_of_date() }} as as_of_date
from expected
left join counted
    on expected.table_name = counted.table_name
    and expected.reason = counted.reason
left join totals
    on expected.table_name = totals.table_name
