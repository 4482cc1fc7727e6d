{#-
  "Replace this run's as_of_date" incremental models on every adapter.

  segment_assignments, segment_profiles, segment_history, segment_history_dates and
  segment_drift rebuild the rows of the run's as_of_date and keep earlier dates:
  delete+insert on as_of_date (the history pair models do the same on to_date).
  Spark and Databricks (parquet/delta through dbt-spark) have no delete+insert;
  there the same result is insert_overwrite of the table partitioned by the date
  (only the partitions present in the new rows are replaced). Use:

    {{ config(**segments_replace_date_config('as_of_date')) }}

  Other settings go before the ** (Jinja takes no keyword argument after it):

    {{ config(on_schema_change='fail', **segments_replace_date_config('as_of_date')) }}
-#}

{% macro segments_replace_date_config(column) -%}
  {#- The config of a model that replaces the rows of its `column` date on each run. -#}
  {{ return({
      'materialized': 'incremental',
      'incremental_strategy': segments_replace_date_strategy(),
      'partition_by': segments_replace_date_partition(column),
      'unique_key': column,
  }) }}
{%- endmacro %}

{% macro segments_replace_date_strategy() -%}
  {{ return(adapter.dispatch('segments_replace_date_strategy', 'segments')()) }}
{%- endmacro %}

{% macro default__segments_replace_date_strategy() -%}
  {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__segments_replace_date_strategy() -%}
  {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro databricks__segments_replace_date_strategy() -%}
  {{ return('insert_overwrite') }}
{%- endmacro %}


{% macro segments_replace_date_partition(column) -%}
  {{ return(adapter.dispatch('segments_replace_date_partition', 'segments')(column)) }}
{%- endmacro %}

{% macro default__segments_replace_date_partition(column) -%}
  {{ return(none) }}
{%- endmacro %}

{% macro spark__segments_replace_date_partition(column) -%}
  {{ return([column]) }}
{%- endmacro %}

{% macro databricks__segments_replace_date_partition(column) -%}
  {{ return([column]) }}
{%- endmacro %}
