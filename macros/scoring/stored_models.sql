{#-
  Reading fitted models back from the warehouse at compile time.

  A model version is one row of segments__model_<view> (Python models) or
  segments__model_sql_<view> (written by `segments fit`); its `parameters` column is the
  JSON of segmentation.model_store.SegmentModel.parameters(). SQL scoring reads it
  with run_query when the scoring model compiles, which in `dbt build` is right after
  the model history was built, and turns the numbers into SQL literals.
-#}

{% macro segments_stored_models(history_relation, view) -%}
  {#-
    [{model_version, training_as_of_date ('YYYY-MM-DD' or none), params, segment_jaccard}]
    of `view`,
    oldest first; empty when the history table does not exist yet or holds no row.
  -#}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set existing = adapter.get_relation(
        database=history_relation.database,
        schema=history_relation.schema,
        identifier=history_relation.identifier) -%}
  {%- if existing is none -%}
    {{ log("segments: model history " ~ history_relation ~ " does not exist yet; view " ~ view ~ " has no stored model", info=true) }}
    {{ return([]) }}
  {%- endif -%}
  {%- set query -%}
    select
        cast(model_version as {{ dbt.type_bigint() }}) as model_version,
        cast(cast(training_as_of_date as date) as {{ dbt.type_string() }}) as training_as_of_date,
        parameters,
        segment_jaccard
    from {{ history_relation }}
    where view = {{ segments_string_literal(view) }}
    order by model_version
  {%- endset -%}
  {%- set table = run_query(query) -%}
  {%- set models = [] -%}
  {%- for row in table.rows -%}
    {%- set as_of = row[1] -%}
    {%- set params = fromjson(row[2]) if row[2] is not none else none -%}
    {%- if params is none or 'transform' not in params or 'clusters' not in params -%}
      {{ exceptions.raise_compiler_error(
          "segments: " ~ history_relation ~ ", column parameters: model version " ~ row[0]
          ~ " of view " ~ view ~ " has no usable JSON (expected keys transform and clusters)") }}
    {%- endif -%}
    {%- do models.append({
          'model_version': row[0] | int,
          'training_as_of_date': (as_of | string)[:10] if as_of is not none else none,
          'params': params,
          'segment_jaccard': fromjson(row[3]) if row[3] else {}}) -%}
  {%- endfor -%}
  {{ return(models) }}
{%- endmacro %}


{% macro segments_model_for_date(models, as_of_date) -%}
  {#-
    The newest model trained on or before `as_of_date` ('YYYY-MM-DD' or none), as
    segmentation.model_store.model_for_date: a past run reuses what was known then.
  -#}
  {%- set ns = namespace(best=none) -%}
  {%- for model in models -%}
    {%- set trained = model['training_as_of_date'] -%}
    {%- if as_of_date is none or trained is none or trained <= as_of_date -%}
      {%- if ns.best is none or model['model_version'] > ns.best['model_version'] -%}
        {%- set ns.best = model -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(ns.best) }}
{%- endmacro %}


{% macro segments_feature_dates(features_relation) -%}
  {#- Distinct as_of_date values ('YYYY-MM-DD' or none) in the features, read at run time. -#}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set query -%}
    select distinct cast(cast(as_of_date as date) as {{ dbt.type_string() }}) as as_of_date
    from {{ features_relation }}
  {%- endset -%}
  {%- set dates = [] -%}
  {%- for row in run_query(query).rows -%}
    {%- do dates.append((row[0] | string)[:10] if row[0] is not none else none) -%}
  {%- endfor -%}
  {{ return(dates) }}
{%- endmacro %}


{% macro segments_segment_name(params, segment_id) -%}
  {#- segmentation.model_store.SegmentModel.name_of, from the stored JSON. -#}
  {%- set names = params.get('segment_names', {}) -%}
  {%- set key = segment_id | string -%}
  {%- if segment_id == 0 and params['clusters'].get('radii') is not none -%}
    {{ return(names.get(key, 'Outliers')) }}
  {%- endif -%}
  {{ return(names.get(key, 'Segment ' ~ key)) }}
{%- endmacro %}
