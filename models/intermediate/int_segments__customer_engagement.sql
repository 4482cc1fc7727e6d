{#-
  Engagement events per customer and event type inside the lookback window
  (var segments_engagement_lookback_days, default 365) before as_of_date.
-#}
{%- set lookback = var('segments_engagement_lookback_days', 365) -%}
select
    events.customer_id,
    events.event_type,
    count(*) as events,
    min(events.occurred_at) as first_event_at
from {{ ref('segments', 'stg_segments__engagement_events') }} as events
cross join {{ ref('segments', 'int_segments__as_of_date') }} as as_of
where events.customer_id is not null
    and events.event_type is not null
    and events.occurred_at < as_of.as_of_date
    and events.occurred_at >= {{ dbt.dateadd('day', -lookback, 'as_of.as_of_date') }}
group by events.customer_id, events.event_type
