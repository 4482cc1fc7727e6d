{#-
  Channel and engagement features per customer in scope: share of counting
  orders per sales channel, engagement events per month by type inside the
  lookback window, and email open and click rates (per email sent).
  Columns whose inputs are absent (no channel column, no engagement events) are left out.
-#}
{%- set lookback = var('segments_engagement_lookback_days', 365) -%}
{%- set orders = ref('segments', 'int_segments__orders') -%}
{%- set engagement = ref('segments', 'int_segments__customer_engagement') -%}
{%- set max_channels = var('segments_max_channels', 8) -%}
{%- set fixed_channels = var('segments_channels', none) -%}
{%- set channels = fixed_channels if fixed_channels else segments_top_values(orders, 'channel', 1) | reject('equalto', 'unknown') | list -%}
{%- set pool_other = fixed_channels or channels | length > max_channels -%}
{%- set channel_pivot = segments_pivot_columns(channels if fixed_channels else channels[:max_channels], 'chan_share__', ['other'] if pool_other else []) -%}
{%- set max_event_types = var('segments_max_event_types', 12) -%}
{%- set fixed_event_types = var('segments_event_types', none) -%}
{%- set event_types = fixed_event_types or segments_top_values(engagement, 'event_type', 'events') -%}
{%- set pool_other_events = event_types | length > 0 and (fixed_event_types or event_types | length > max_event_types) -%}
{%- set event_pivot = segments_pivot_columns(event_types if fixed_event_types else event_types[:max_event_types], 'events_per_month__', ['other'] if pool_other_events else []) -%}
{%- set has_email = 'email_sent' in event_types -%}
{%- set pivoted_channels = segments_literal_list(channel_pivot | map(attribute=0) | list) -%}

with rfm as (

    select customer_id, as_of_date, first_order_at
    from {{ ref('segments', 'customer_rfm') }}

),

channel_orders as (

    select
        customer_id,
        cast(count(distinct case when channel <> 'unknown' then channel end) as {{ dbt.type_int() }}) as channel_breadth
        {%- for value, column in channel_pivot %},
        {{ segments_safe_divide("sum(case when channel = " ~ segments_string_literal(value) ~ " then 1 else 0 end)", 'count(*)') }} as {{ column }}
        {%- endfor %}
        {%- if pool_other %},
        {{ segments_safe_divide("sum(case when channel <> 'unknown' and channel not in " ~ pivoted_channels ~ " then 1 else 0 end)", 'count(*)') }} as chan_share__other
        {%- endif %}
    from {{ orders }}
    group by customer_id

){%- if event_pivot %},

engagement as (

    select
        customer_id,
        min(first_event_at) as first_event_at,
        sum(events) as engagement_events_total,
        sum(case when event_type = 'email_sent' then events else 0 end) as email_sent,
        sum(case when event_type = 'email_open' then events else 0 end) as email_opens,
        sum(case when event_type = 'email_click' then events else 0 end) as email_clicks
        {%- for value, column in event_pivot %},
        sum(case when event_type = {{ segments_string_literal(value) }} then events else 0 end) as {{ column }}
        {%- endfor %}
        {%- if pool_other_events %},
        sum(case when event_type not in {{ segments_literal_list(event_pivot | map(attribute=0) | list) }} then events else 0 end) as events_per_month__other
        {%- endif %}
    from {{ engagement }}
    group by customer_id

){%- endif %}

select
    rfm.customer_id,
    rfm.as_of_date,
    {%- if channel_pivot %}
    channel_orders.channel_breadth
    {%- else %}
    cast(null as {{ dbt.type_int() }}) as channel_breadth
    {%- endif %}
    {%- for value, column in channel_pivot %},
    channel_orders.{{ column }}
    {%- endfor %}
    {%- if pool_other %},
    channel_orders.chan_share__other
    {%- endif %}
    {%- if event_pivot %},
    cast(coalesce(engagement.engagement_events_total, 0) as {{ dbt.type_int() }}) as engagement_events_total
    {%- set exposure_days -%}
        greatest(30, least({{ lookback }}, {{ segments_days_between(
            'case when engagement.first_event_at < rfm.first_order_at then engagement.first_event_at else rfm.first_order_at end',
            'rfm.as_of_date') }}))
    {%- endset %}
    {%- for column in event_pivot | map(attribute=1) | list + (['events_per_month__other'] if pool_other_events else []) %},
    {{ segments_safe_divide('coalesce(engagement.' ~ column ~ ', 0) * 30.4375', exposure_days) }} as {{ column }}
    {%- endfor %}
    {%- if has_email %},
    case when engagement.email_sent > 0
        then least(1.0, {{ segments_safe_divide('engagement.email_opens', 'engagement.email_sent') }}) end as email_open_rate,
    case when engagement.email_sent > 0
        then least(1.0, {{ segments_safe_divide('engagement.email_clicks', 'engagement.email_sent') }}) end as email_click_rate
    {%- endif %}
    {%- endif %}
from rfm
left join channel_orders
    on rfm.customer_id = channel_orders.customer_id
{%- if event_pivot %}
left join engagement
    on {{ segments_keys_match('customer_id', ref('segments', 'customer_rfm'), 'rfm', engagement, 'engagement') }}
{%- endif %}
