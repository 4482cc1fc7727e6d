{#-
  Which implementation builds each segmentation step on the current target.

  Two vars decide it:
    segments_python_adapters  adapter types that run dbt Python models
                              (default: duckdb, snowflake, bigquery, databricks).
                              On any other adapter (postgres, spark, redshift, ...)
                              every segmentation step is SQL and models are fitted
                              with `segments fit`.
    segments_scoring          where customers are scored, per view: a mapping such
                              as {value: sql} or one word for every view;
                              `python` (default) or `sql`. `python` only applies
                              where Python models run; elsewhere scoring is SQL.

  The Python models (python_models/*.py) and the SQL ones (models/scoring/*_sql_*)
  have different names; the unions downstream (segment_models, segment_assignments,
  segment_profiles) and the tests pick the enabled one through the segments_ref_*
  macros below, so nothing downstream cares which one ran.

  Model properties YAML cannot call macros, so the Python models' `enabled` configs
  repeat the two expressions of segments_python_models_enabled() and
  segments_scoring_mode() inline (see docs/portability.md).
-#}

{% macro segments_default_python_adapters() -%}
  {{ return(['duckdb', 'snowflake', 'bigquery', 'databricks']) }}
{%- endmacro %}


{% macro segments_python_models_enabled() -%}
  {#- Whether dbt Python models run on this target (segments__model_<view> etc.). -#}
  {%- set adapters = var('segments_python_adapters', segments_default_python_adapters()) -%}
  {%- if adapters is string -%}{%- set adapters = [adapters] -%}{%- endif -%}
  {{ return(target.type in adapters) }}
{%- endmacro %}


{% macro segments_scoring_setting(view) -%}
  {#- The raw segments_scoring choice for `view` (python or sql), validated. -#}
  {%- set setting = var('segments_scoring', 'python') -%}
  {%- if setting is mapping -%}
    {%- set unknown = [] -%}
    {%- for key in setting if key not in ['value', 'behavioral', 'channel'] -%}
      {%- do unknown.append(key) -%}
    {%- endfor -%}
    {%- if unknown -%}
      {{ exceptions.raise_compiler_error(
          "segments: var segments_scoring names unknown view(s) " ~ unknown | join(', ')
          ~ "; the views are value, behavioral and channel") }}
    {%- endif -%}
    {%- set choice = setting.get(view, 'python') -%}
  {%- else -%}
    {%- set choice = setting -%}
  {%- endif -%}
  {%- set choice = (choice | string | lower | trim) -%}
  {%- if choice not in ['python', 'sql'] -%}
    {{ exceptions.raise_compiler_error(
        "segments: var segments_scoring for view " ~ view ~ " is " ~ choice
        ~ "; expected python or sql (or a mapping such as {value: sql})") }}
  {%- endif -%}
  {{ return(choice) }}
{%- endmacro %}


{% macro segments_scoring_mode(view) -%}
  {#- python or sql: how segments__assignments_<view> is built on this target. -#}
  {%- set choice = segments_scoring_setting(view) -%}
  {%- if not segments_python_models_enabled() -%}{{ return('sql') }}{%- endif -%}
  {{ return(choice) }}
{%- endmacro %}


{#- ----------------------------------------------------------------------------
  ref() switches: the relation that holds a view's step on this target.
---------------------------------------------------------------------------- -#}

{% macro segments_ref_model_history(view) -%}
  {#- Fitted model versions of `view`: the Python model, or the store `segments fit` writes. -#}
  {%- if segments_python_models_enabled() -%}
    {{ return(ref('segments', 'segments__model_' ~ view)) }}
  {%- endif -%}
  {{ return(ref('segments', 'segments__model_sql_' ~ view)) }}
{%- endmacro %}


{% macro segments_ref_assignments(view) -%}
  {%- if segments_scoring_mode(view) == 'python' -%}
    {{ return(ref('segments', 'segments__assignments_' ~ view)) }}
  {%- endif -%}
  {{ return(ref('segments', 'segments__assignments_sql_' ~ view)) }}
{%- endmacro %}


{% macro segments_ref_profiles(view) -%}
  {%- if segments_scoring_mode(view) == 'python' -%}
    {{ return(ref('segments', 'segments__profiles_' ~ view)) }}
  {%- endif -%}
  {{ return(ref('segments', 'segments__profiles_sql_' ~ view)) }}
{%- endmacro %}


{% macro segments_ref_catalog() -%}
  {%- if segments_python_models_enabled() -%}
    {{ return(ref('segments', 'segment_catalog')) }}
  {%- endif -%}
  {{ return(ref('segments', 'segments__catalog_sql')) }}
{%- endmacro %}
