{#-
  Long table of segment assignments: one row per customer x view x as_of_date.
  Each run replaces the rows of its own as_of_date (the project's replace-a-date
  strategy: delete+insert, insert_overwrite on Spark), so rebuilding a date is
  idempotent and earlier dates stay as history. Names come from the stored model
  unless the segments__segment_name_overrides seed renames the segment; the generated name is
  kept beside it.
-#}
{{ config(
    on_schema_change='append_new_columns',
    **segments_replace_date_config('as_of_date'),
) }}

{#- Each view's scorer may hand back a key typed by Arrow (UUID as text); restore the input's type. -#}
{%- set key_type = segments_key_type(ref('segments', 'customer_features')) %}

{{ segments_union_views_named(segments_ref_assignments, [
    ['customer_id', 'cast(customer_id as ' ~ key_type ~ ')'],
    ['as_of_date', 'cast(as_of_date as date)'],
    ['view', 'view'],
    ['segment_id', 'cast(segment_id as ' ~ dbt.type_int() ~ ')'],
    ['generated_name', 'segment_name'],
    ['confidence', 'cast(confidence as ' ~ segments_type_double() ~ ')'],
    ['model_version', 'cast(model_version as ' ~ dbt.type_int() ~ ')'],
]) }}
