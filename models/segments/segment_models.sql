{#-
  Every fitted model version of every view, newest flagged with is_latest. The
  per-view history tables (segments__model_<view>) are the system of record; this is
  their union for reporting.
-#}
{%- set views = ['value', 'behavioral', 'channel'] %}
{#- The model store's columns in order (segments_model_store_columns); these are cast, the rest pass as stored. -#}
{%- set casts = {'model_version': dbt.type_int(), 'k': dbt.type_int(), 'training_as_of_date': 'date'} %}

with unioned as (
    {%- for view in views %}
    select
        {%- for name, _ in segments_model_store_columns() %}
        {{ 'cast(' ~ name ~ ' as ' ~ casts[name] ~ ') as ' ~ name if name in casts else name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ segments_ref_model_history(view) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    unioned.*,
    model_version = max(model_version) over (partition by view) as is_latest
from unioned
