{#-
  "Replace this run's as_of_date" incremental models on every adapter.

  segment_assignments, segment_profiles, segment_history and segment_drift rebuild
  the rows of the run's as_of_date and keep earlier dates: delete+insert on
  as_of_date. Spark and Databricks (parquet/delta through dbt-spark) have no
  delete+insert; there the same result is insert_overwrite of the table partitioned
  by as_of_date (only the partitions present in the new rows are replaced). Use:

    {{ config(
        materialized='incremental',
        incremental_strategy=segments_replace_date_strategy(),
        partition_by=segments_replace_date_partition('as_of_date'),
        unique_key='as_of_date',
    ) }}
-#}

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
