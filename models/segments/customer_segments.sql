{#-
  One row per customer in scope on the current as_of_date, ready for the CRM: each
  view's segment id, name and confidence side by side, plus the rule-based RFM cell.
  A view that was skipped (its inputs are absent) leaves its three columns null.
-#}
{%- set views = ['value', 'behavioral', 'channel'] %}

select
    features.customer_id,
    features.email,
    {%- for view in views %}
    {{ view }}_assignment.segment_id as {{ view }}_segment_id,
    {{ view }}_assignment.segment_name as {{ view }}_segment,
    {{ view }}_assignment.confidence as {{ view }}_confidence,
    {%- endfor %}
    features.rfm_segment,
    features.as_of_date
from {{ ref('segments', 'customer_features') }} as features
{%- for view in views %}
left join {{ ref('segments', 'segment_assignments') }} as {{ view }}_assignment
    on {{ view }}_assignment.customer_id = features.customer_id
    and {{ view }}_assignment.as_of_date = features.as_of_date
    and {{ view }}_assignment.view = '{{ view }}'
{%- endfor %}
