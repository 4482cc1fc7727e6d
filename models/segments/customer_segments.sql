{#-
  One row per customer in scope on the current as_of_date, ready for the CRM: each
  view's segment id, name and confidence side by side, plus the rule-based RFM cell.
  A view that was skipped (its inputs are absent) leaves its three columns null.
  Its shape is an enforced dbt contract (models/segments/_segments.yml), since the
  CRM sync reads it: every column but customer_id is cast to its contract type;
  customer_id keeps the input's own type (var segments_customer_id_type names it).
-#}
{%- set views = ['value', 'behavioral', 'channel'] %}

select
    features.customer_id,
    cast(features.email as {{ dbt.type_string() }}) as email,
    {%- for view in views %}
    cast({{ view }}_assignment.segment_id as {{ dbt.type_int() }}) as {{ view }}_segment_id,
    cast({{ view }}_assignment.segment_name as {{ dbt.type_string() }}) as {{ view }}_segment,
    cast({{ view }}_assignment.confidence as {{ segments_type_double() }}) as {{ view }}_confidence,
    {%- endfor %}
    cast(features.rfm_segment as {{ dbt.type_string() }}) as rfm_segment,
    cast(features.as_of_date as date) as as_of_date
from {{ ref('segments', 'customer_features') }} as features
{%- for view in views %}
left join {{ ref('segments', 'segment_assignments') }} as {{ view }}_assignment
    on {{ view }}_assignment.customer_id = features.customer_id
    and {{ view }}_assignment.as_of_date = features.as_of_date
    and {{ view }}_assignment.view = '{{ view }}'
{%- endfor %}
