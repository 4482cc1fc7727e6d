{#-
  One row per customer in scope on the current as_of_date, ready for the CRM: each
  view's segment id, name and confidence side by side, plus the rule-based RFM cell,
  and for each of them the segment before the current one and the date the current
  one began, so a CRM list or workflow can act on a migration ("moved from Loyal to
  At Risk in the last 30 days").

  <view>_segment_since is the to_date of the customer's latest migration into the
  current segment (a move or an entry, from segment_migrations) on or before the run
  date, else the first date the history holds them; <view>_previous_segment is the
  segment that migration came from, null when they entered from out of scope or have
  never moved. Both are derived from the whole history on every build, so they stay
  right when a backfill inserts an earlier date or a date is re-run.

  A view that was skipped (its inputs are absent) leaves its columns null.
  Its shape is an enforced dbt contract (models/segments/_segments.yml), since the
  CRM sync reads it: every column but customer_id is cast to its contract type;
  customer_id keeps the input's own type (var segments_customer_id_type names it).
-#}
{%- set views = ['value', 'behavioral', 'channel'] %}
{%- set text = dbt.type_string() %}

with run_date as (

    select as_of_date from {{ ref('segments', 'int_segments__as_of_date') }}

),

latest_change as (

    select customer_id, view, to_date, from_segment_id, from_segment_name
    from (
        select
            migrations.customer_id,
            migrations.view,
            migrations.to_date,
            migrations.from_segment_id,
            migrations.from_segment_name,
            row_number() over (
                partition by migrations.customer_id, migrations.view
                order by migrations.to_date desc
            ) as newest
        from {{ ref('segments', 'segment_migrations') }} as migrations
        inner join run_date
            on migrations.to_date <= run_date.as_of_date
        where migrations.migration_type <> 'exit'
    ) as ranked
    where newest = 1

),

first_seen as (

    select history.customer_id, history.view, min(history.as_of_date) as first_date
    from {{ ref('segments', 'segment_history') }} as history
    inner join run_date
        on history.as_of_date <= run_date.as_of_date
    group by history.customer_id, history.view

),

since as (

    select
        first_seen.customer_id,
        first_seen.view,
        coalesce(latest_change.to_date, first_seen.first_date) as segment_since,
        latest_change.from_segment_id as previous_segment_id,
        latest_change.from_segment_name as previous_segment
    from first_seen
    left join latest_change
        on first_seen.customer_id = latest_change.customer_id
        and first_seen.view = latest_change.view

)

select
    features.customer_id,
    cast(features.email as {{ text }}) as email,
    {%- for view in views %}
    cast({{ view }}_assignment.segment_id as {{ dbt.type_int() }}) as {{ view }}_segment_id,
    cast({{ view }}_assignment.segment_name as {{ text }}) as {{ view }}_segment,
    cast({{ view }}_assignment.confidence as {{ segments_type_double() }}) as {{ view }}_confidence,
    cast({{ view }}_since.previous_segment_id as {{ dbt.type_int() }}) as {{ view }}_previous_segment_id,
    cast({{ view }}_since.previous_segment as {{ text }}) as {{ view }}_previous_segment,
    cast({{ view }}_since.segment_since as date) as {{ view }}_segment_since,
    {%- endfor %}
    cast(features.rfm_segment as {{ text }}) as rfm_segment,
    cast(rfm_since.previous_segment as {{ text }}) as rfm_previous_segment,
    cast(rfm_since.segment_since as date) as rfm_segment_since,
    cast(features.as_of_date as date) as as_of_date
from {{ ref('segments', 'customer_features') }} as features
{%- for view in views %}
left join {{ ref('segments', 'segment_assignments') }} as {{ view }}_assignment
    on {{ view }}_assignment.customer_id = features.customer_id
    and {{ view }}_assignment.as_of_date = features.as_of_date
    and {{ view }}_assignment.view = '{{ view }}'
{%- endfor %}
{%- for view in views + ['rfm'] %}
left join since as {{ view }}_since
    on {{ view }}_since.customer_id = features.customer_id
    and {{ view }}_since.view = '{{ view }}'
    {%- if view != 'rfm' %}
    and {{ view }}_assignment.segment_id is not null
    {%- endif %}
{%- endfor %}
