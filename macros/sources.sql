{#-
  Source introspection. Every raw table is reached through a dbt source whose
  database, schema and identifier come from vars (see models/staging/_sources.yml),
  so these macros look the relation up in the warehouse to decide what exists.
-#}

{% macro segments_source_relation(table_name) -%}
  {#- The warehouse relation behind source('segments_raw', table_name), or none when it is absent. -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set src = source('segments_raw', table_name) -%}
  {{ return(adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier)) }}
{%- endmacro %}


{% macro segments_using(table_name) -%}
  {#-
    Whether an optional source takes part in this run. The var
    segments_using_<table> is true, false, or "auto" (default): detect the table.
  -#}
  {%- set setting = var('segments_using_' ~ table_name, 'auto') -%}
  {%- if setting is string and setting | lower == 'auto' -%}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set found = segments_source_relation(table_name) is not none -%}
    {%- if not found -%}
      {%- set src = source('segments_raw', table_name) -%}
      {{ log("segments: optional source table " ~ src ~ " not found; features that need it are left out (set var segments_using_" ~ table_name ~ " to silence this)", info=true) }}
    {%- endif -%}
    {{ return(found) }}
  {%- endif -%}
  {{ return(setting in [true, 'true', 'True', 1, '1', 'yes']) }}
{%- endmacro %}


{% macro segments_column_names(table_name) -%}
  {#- Lower-cased column names of a source table; empty when it is absent. At parse time: none. -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set relation = segments_source_relation(table_name) -%}
  {%- if relation is none -%}{{ return([]) }}{%- endif -%}
  {%- set names = [] -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do names.append(column.name | lower) -%}
  {%- endfor -%}
  {{ return(names) }}
{%- endmacro %}


{% macro segments_require_source(table_name, required_columns) -%}
  {#-
    Fail the run with a message naming the table and the missing columns when a
    required source or column is absent. Returns the column names present.
  -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set src = source('segments_raw', table_name) -%}
  {%- if segments_source_relation(table_name) is none -%}
    {{ exceptions.raise_compiler_error(
        "segments: required source table " ~ src ~ " was not found. Point the project at it with vars "
        ~ "segments_source_database, segments_source_schema and segments_" ~ table_name ~ "_identifier.") }}
  {%- endif -%}
  {%- set present = segments_column_names(table_name) -%}
  {%- set missing = [] -%}
  {%- for name in required_columns -%}
    {%- if name not in present -%}{%- do missing.append(name) -%}{%- endif -%}
  {%- endfor -%}
  {%- if missing -%}
    {{ exceptions.raise_compiler_error(
        "segments: source table " ~ src ~ " is missing required column(s) " ~ missing | join(', ')
        ~ " (the input contract needs " ~ required_columns | join(', ') ~ "; found " ~ present | join(', ') ~ ")") }}
  {%- endif -%}
  {{ return(present) }}
{%- endmacro %}
