{#- Engagement events (optional). When the table is absent this view is empty but keeps its shape. -#}
-- depends_on: {{ ref('segments', 'stg_segments__order_lines') }}
{% if segments_using('engagement_events') -%}
{%- do segments_require_source('engagement_events', ['customer_id', 'occurred_at', 'event_type']) -%}
{%- set columns = segments_source_columns('engagement_events') -%}
select
    customer_id,
    {{ segments_conformed_timestamp('engagement_events', columns, 'occurred_at') }} as occurred_at,
    {{ segments_conformed_text(columns, 'event_type') }} as event_type,
    {{ segments_conformed_text(columns, 'channel') }} as channel
from {{ segments_input('engagement_events') }}
{%- else -%}
select
    customer_id,
    cast(null as {{ dbt.type_timestamp() }}) as occurred_at,
    cast(null as {{ dbt.type_string() }}) as event_type,
    cast(null as {{ dbt.type_string() }}) as channel
from {{ ref('segments', 'stg_segments__order_lines') }}
where 1 = 0
{%- endif %}
