{% macro segments_union_views_named(relation_of_view, columns, views=['value', 'behavioral', 'channel']) -%}
{#-
  The relations of every view (relation_of_view(view), e.g. segments_ref_assignments)
  stacked into one, with the display name taken from the segments__segment_name_overrides seed
  where it renames a segment. columns lists [name, expression] pairs in output order;
  the pair named generated_name (the model's own name) gets segment_name, the name to
  show, placed just before it. segment_assignments and segment_profiles share this so
  a rename reaches both the same way.
-#}
with unioned as (
    {%- for view in views %}
    select
        {%- for name, expression in columns %}
        {{ expression }} as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation_of_view(view) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    {%- for name, expression in columns %}
    {%- if name == 'generated_name' %}
    coalesce(overrides.segment_name, unioned.generated_name) as segment_name,
    {%- endif %}
    unioned.{{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from unioned
left join {{ ref('segments', 'segments__segment_name_overrides') }} as overrides
    on overrides.view = unioned.view
    and overrides.segment_id = unioned.segment_id
{%- endmacro %}
