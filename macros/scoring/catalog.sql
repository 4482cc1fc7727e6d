{#-
  segment_catalog in SQL: one row per segment of every stored model version, read
  from the model histories at compile time (the same rows as
  segmentation.dbt_entry.catalog_rows builds in Python).
-#}

{% macro segments_segment_catalog(views=['value', 'behavioral', 'channel']) -%}
  {%- set text = dbt.type_string() -%}
  {%- set bigint = dbt.type_bigint() -%}
  {%- set double = segments_type_double() -%}
  {%- set rows = [] -%}
  {%- for view in views -%}
    {%- set models = segments_stored_models(segments_ref_model_history(view), view) -%}
    {%- set latest = (models | map(attribute='model_version') | max) if models else none -%}
    {%- for model in models -%}
      {%- set params = model['params'] -%}
      {%- set has_outliers = params['clusters'].get('radii') is not none -%}
      {%- set sizes = params.get('training_sizes', {}) -%}
      {%- set ns = namespace(total=0) -%}
      {%- for size in sizes.values() -%}{%- set ns.total = ns.total + (size | int) -%}{%- endfor -%}
      {%- set total = ns.total if ns.total > 0 else 1 -%}
      {%- set jaccard = model.get('segment_jaccard') or {} -%}
      {%- for seg in params['segment_ids'] + ([0] if has_outliers else []) -%}
        {%- set size = sizes.get(seg | string, 0) | int -%}
        {%- set stability = jaccard.get(seg | string) -%}
        {%- do rows.append(
            'select cast(' ~ segments_string_literal(view) ~ ' as ' ~ text ~ ') as view, '
            ~ 'cast(' ~ model['model_version'] ~ ' as ' ~ bigint ~ ') as model_version, '
            ~ 'cast(' ~ (seg | int) ~ ' as ' ~ bigint ~ ') as segment_id, '
            ~ 'cast(' ~ segments_string_literal(segments_segment_name(params, seg | int)) ~ ' as ' ~ text ~ ') as segment_name, '
            ~ ('true' if seg == 0 and has_outliers else 'false') ~ ' as is_outlier_segment, '
            ~ 'cast(' ~ size ~ ' as ' ~ bigint ~ ') as training_size, '
            ~ 'cast(' ~ segments_double_literal(size / total) ~ ' as ' ~ double ~ ') as training_share, '
            ~ 'cast(' ~ (segments_double_literal(stability) if stability is not none else 'null') ~ ' as ' ~ double ~ ') as stability_jaccard, '
            ~ ('true' if model['model_version'] == latest else 'false') ~ ' as is_latest_version') -%}
      {%- endfor -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- if rows -%}
    {{ return(rows | join('\nunion all\n')) }}
  {%- endif -%}
  {%- set empty -%}
select
    cast(null as {{ text }}) as view,
    cast(null as {{ bigint }}) as model_version,
    cast(null as {{ bigint }}) as segment_id,
    cast(null as {{ text }}) as segment_name,
    cast(null as {{ dbt.type_boolean() }}) as is_outlier_segment,
    cast(null as {{ bigint }}) as training_size,
    cast(null as {{ double }}) as training_share,
    cast(null as {{ double }}) as stability_jaccard,
    cast(null as {{ dbt.type_boolean() }}) as is_latest_version
from (select 1 as one) as empty_catalog
where 1 = 0
  {%- endset -%}
  {{ return(empty) }}
{%- endmacro %}
