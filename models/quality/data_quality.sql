{#-
  Every raw row accounted for, per table and reason: rows that break the input
  contract (action `excluded`), valid lines that do not count on this as_of_date
  (`filtered`: an excluded status, or ordered on or after as_of_date), the lines
  that count (`counted`), rows that count but look wrong (`warning`: exact duplicate
  rows, products whose copies disagree on category) and statuses outside the known
  vocabulary, which count and are listed with their row counts (`listed`).
  For order_lines the excluded, filtered and counted rows add up to table_rows.
  Every fixed reason appears, with zero rows where none applies, so a dashboard or
  a test reads one stable shape; `detail` holds the status for per-status rows.
-#}
{%- set contract_reasons = ['null_customer_id', 'null_ordered_at', 'non_positive_quantity', 'null_unit_price', 'duplicate_line_key'] -%}
{%- set expected_rows = [] -%}
{%- for r in contract_reasons %}{% do expected_rows.append(('order_lines', r, 'excluded')) %}{% endfor -%}
{%- do expected_rows.append(('order_lines', 'on_or_after_as_of_date', 'filtered')) -%}
{%- do expected_rows.append(('order_lines', 'counted', 'counted')) -%}
{%- do expected_rows.append(('order_lines', 'exact_duplicate_row', 'warning')) -%}
{%- for r in ['null_customer_id', 'duplicate_customer_id'] %}{% do expected_rows.append(('customers', r, 'excluded')) %}{% endfor -%}
{%- for r in ['null_product_id', 'duplicate_product_id'] %}{% do expected_rows.append(('products', r, 'excluded')) %}{% endfor -%}
{%- do expected_rows.append(('products', 'conflicting_product_category', 'warning')) -%}
{%- for r in ['null_customer_id', 'null_occurred_at', 'null_event_type'] %}{% do expected_rows.append(('engagement_events', r, 'excluded')) %}{% endfor -%}
{%- set text = dbt.type_string() -%}
{%- set line_columns = ['order_id', 'line_number', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price', 'discount', 'channel', 'status'] -%}

with line_buckets as (

    {#- One pass over the checked lines; everything about order lines derives from this small table. -#}
    select
        lines.dq_reason,
        lines.status,
        case when lines.ordered_at >= as_of.as_of_date then 1 else 0 end as after_as_of,
        count(*) as row_count
    from {{ ref('segments', 'int_segments__order_lines_checked') }} as lines
    cross join {{ ref('segments', 'int_segments__as_of_date') }} as as_of
    group by
        lines.dq_reason,
        lines.status,
        case when lines.ordered_at >= as_of.as_of_date then 1 else 0 end

),

exact_duplicates as (

    {{ segments_exact_duplicate_rows(ref('segments', 'stg_segments__order_lines'), line_columns) }}

),

customer_reasons as (

    select
        case
            when customer_id is null then 'null_customer_id'
            when row_number() over (partition by customer_id order by created_at desc, email) > 1 then 'duplicate_customer_id'
        end as reason
    from {{ ref('segments', 'stg_segments__customers') }}

),

product_reasons as (

    select
        case
            when product_id is null then 'null_product_id'
            when row_number() over (partition by product_id order by category, brand) > 1 then 'duplicate_product_id'
        end as reason
    from {{ ref('segments', 'stg_segments__products') }}

),

conflicting_products as (

    select products.product_id
    from {{ ref('segments', 'stg_segments__products') }} as products
    inner join (
        select product_id
        from {{ ref('segments', 'stg_segments__products') }}
        where product_id is not null
        group by product_id
        having count(distinct category) > 1
    ) as conflicts
        on products.product_id = conflicts.product_id

),

event_reasons as (

    select
        case
            when customer_id is null then 'null_customer_id'
            when occurred_at is null then 'null_occurred_at'
            when event_type is null then 'null_event_type'
        end as reason
    from {{ ref('segments', 'stg_segments__engagement_events') }}

),

found as (

    select 'order_lines' as table_name, dq_reason as reason, cast(null as {{ text }}) as detail, sum(row_count) as row_count
    from line_buckets
    where dq_reason is not null
    group by dq_reason

    union all
    select 'order_lines', 'excluded_status', status, sum(row_count)
    from line_buckets
    where dq_reason is null and not {{ segments_line_counts() }}
    group by status

    union all
    select 'order_lines', case when after_as_of = 1 then 'on_or_after_as_of_date' else 'counted' end, cast(null as {{ text }}), sum(row_count)
    from line_buckets
    where dq_reason is null and {{ segments_line_counts() }}
    group by case when after_as_of = 1 then 'on_or_after_as_of_date' else 'counted' end

    union all
    select 'order_lines', 'unrecognised_status', status, sum(row_count)
    from line_buckets
    where status is not null and status not in {{ segments_literal_list(segments_known_statuses()) }}
    group by status

    union all
    select 'order_lines', 'exact_duplicate_row', cast(null as {{ text }}), row_count
    from exact_duplicates

    union all
    select 'products', 'conflicting_product_category', cast(null as {{ text }}), count(*)
    from conflicting_products

    {%- for table_name, cte in [('customers', 'customer_reasons'), ('products', 'product_reasons'), ('engagement_events', 'event_reasons')] %}

    union all
    select {{ segments_string_literal(table_name) }}, reason, cast(null as {{ text }}), count(*)
    from {{ cte }}
    where reason is not null
    group by reason
    {%- endfor %}

),

expected as (

    {%- for table_name, reason, action in expected_rows %}
    select {{ segments_string_literal(table_name) }} as table_name, {{ segments_string_literal(reason) }} as reason, {{ segments_string_literal(action) }} as action
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

rows_per_reason as (

    select
        expected.table_name,
        expected.reason,
        cast(null as {{ text }}) as detail,
        expected.action,
        coalesce(found.row_count, 0) as row_count
    from expected
    left join found
        on expected.table_name = found.table_name
        and expected.reason = found.reason
        and found.detail is null

    union all
    select
        table_name,
        reason,
        detail,
        case when reason = 'excluded_status' then 'filtered' else 'listed' end as action,
        row_count
    from found
    where detail is not null

),

totals as (

    select 'order_lines' as table_name, sum(row_count) as total_rows from line_buckets
    union all
    select 'customers', count(*) from {{ ref('segments', 'stg_segments__customers') }}
    union all
    select 'products', count(*) from {{ ref('segments', 'stg_segments__products') }}
    union all
    select 'engagement_events', count(*) from {{ ref('segments', 'stg_segments__engagement_events') }}

)

select
    rows_per_reason.table_name,
    rows_per_reason.reason,
    rows_per_reason.detail,
    rows_per_reason.action,
    cast(rows_per_reason.row_count as {{ dbt.type_bigint() }}) as row_count,
    cast(case when rows_per_reason.action in ('excluded', 'filtered') then rows_per_reason.row_count else 0 end
        as {{ dbt.type_bigint() }}) as rows_excluded,
    cast(coalesce(totals.total_rows, 0) as {{ dbt.type_bigint() }}) as table_rows,
    coalesce({{ segments_safe_divide('rows_per_reason.row_count', 'totals.total_rows') }}, 0) as share,
    {{ segments_as_of_date() }} as as_of_date
from rows_per_reason
left join totals
    on rows_per_reason.table_name = totals.table_name
