{#-
  Input introspection. Every input table (order_lines, customers, products,
  engagement_events) is read either

  - from a model (or seed, or snapshot) of the project, named by var
    segments_<table>_model, e.g. `segments_order_lines_model: my_order_lines`. The
    staging model selects from ref() of it, so dbt builds it first (a real DAG edge:
    one `dbt build` on a fresh database works), and the staging model introspects it
    when it compiles, after it was built; or
  - from the dbt source segments_raw.<table>, whose database, schema and identifier
    come from vars (see models/staging/_sources.yml), as long as no model is named.

  These macros look the input's relation up in the warehouse to decide what exists.
-#}

{% macro segments_input_model(table_name) -%}
  {#- The model named by var segments_<table>_model, or none: the input is the source. -#}
  {%- set name = var('segments_' ~ table_name ~ '_model', none) -%}
  {%- if name is none or (name | string | trim) in ['', 'None', 'none'] -%}{{ return(none) }}{%- endif -%}
  {{ return(name | string | trim) }}
{%- endmacro %}


{% macro segments_input(table_name) -%}
  {#- What the staging model of `table_name` selects from: ref() of the named model, else the source. -#}
  {%- set model = segments_input_model(table_name) -%}
  {%- if model is not none -%}{{ return(ref(model)) }}{%- endif -%}
  {{ return(source('segments_raw', table_name)) }}
{%- endmacro %}


{% macro segments_input_label(table_name) -%}
  {#- How messages name the input: "model my_order_lines" or "source table db.raw.order_lines". -#}
  {%- set model = segments_input_model(table_name) -%}
  {%- if model is not none -%}{{ return("input model " ~ model ~ " (var segments_" ~ table_name ~ "_model)") }}{%- endif -%}
  {{ return("source table " ~ source('segments_raw', table_name)) }}
{%- endmacro %}


{% macro segments_graph_relation(name) -%}
  {#-
    The relation of the project's model, seed or snapshot called `name`, found in the
    graph rather than through ref(), so models downstream of the staging model (which
    holds the ref and so the DAG edge) can introspect the input too. The root
    project's node wins, as a one-argument ref() would.
  -#}
  {%- set found = [] -%}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type in ['model', 'seed', 'snapshot'] and node.name == name -%}
      {%- if node.package_name == project_name -%}{%- do found.insert(0, node) -%}{%- else -%}{%- do found.append(node) -%}{%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not found -%}
    {{ exceptions.raise_compiler_error(
        "segments: var segments_<table>_model names " ~ name ~ ", but the project has no model, seed or snapshot of that name") }}
  {%- endif -%}
  {%- set node = found[0] -%}
  {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias or node.name)) }}
{%- endmacro %}


{% macro segments_source_relation(table_name) -%}
  {#- The warehouse relation behind the input `table_name` (model or source), or none when it is absent. -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set model = segments_input_model(table_name) -%}
  {%- set src = segments_graph_relation(model) if model is not none else source('segments_raw', table_name) -%}
  {{ return(adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier)) }}
{%- endmacro %}


{% macro segments_using(table_name) -%}
  {#-
    Whether an optional input takes part in this run. The var
    segments_using_<table> is true, false, or "auto" (default): detect the source
    table. An input given as a model (var segments_<table>_model) is always used
    under "auto": it is built before its staging model, so it is never skipped
    because of build order.
  -#}
  {%- set setting = var('segments_using_' ~ table_name, 'auto') -%}
  {%- if setting is string and setting | lower == 'auto' -%}
    {%- if not execute or segments_input_model(table_name) is not none -%}{{ return(true) }}{%- endif -%}
    {%- set found = segments_source_relation(table_name) is not none -%}
    {%- if not found -%}
      {%- set src = source('segments_raw', table_name) -%}
      {{ log("segments: optional source table " ~ src ~ " not found; features that need it are left out (set var segments_using_" ~ table_name ~ " to silence this)", info=true) }}
    {%- endif -%}
    {{ return(found) }}
  {%- endif -%}
  {{ return(setting in [true, 'true', 'True', 1, '1', 'yes']) }}
{%- endmacro %}


{% macro segments_source_columns(table_name) -%}
  {#- Lower-cased column name -> dbt Column of an input (model or source); empty when absent, none at parse time. -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set relation = segments_source_relation(table_name) -%}
  {%- set columns = {} -%}
  {%- if relation is not none -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do columns.update({column.name | lower: column}) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(columns) }}
{%- endmacro %}


{% macro segments_column_names(table_name) -%}
  {#- Lower-cased column names of an input (model or source); empty when it is absent. At parse time: none. -#}
  {%- set columns = segments_source_columns(table_name) -%}
  {{ return(none if columns is none else columns.keys() | list) }}
{%- endmacro %}


{% macro segments_require_source(table_name, required_columns) -%}
  {#-
    Fail the run with a message naming the table and the missing columns when a
    required input or column is absent. Returns the column names present.
  -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set src = segments_input_label(table_name) -%}
  {%- if segments_source_relation(table_name) is none -%}
    {%- if segments_input_model(table_name) is not none -%}
      {{ exceptions.raise_compiler_error(
          "segments: " ~ src ~ " was not found in the warehouse (" ~ segments_graph_relation(segments_input_model(table_name))
          ~ "); build it first, e.g. with `dbt build`, which builds it before the package's staging models.") }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        "segments: required " ~ src ~ " was not found. Point the project at it with vars "
        ~ "segments_source_database, segments_source_schema and segments_" ~ table_name ~ "_identifier, "
        ~ "or name a model of your project with var segments_" ~ table_name ~ "_model.") }}
  {%- endif -%}
  {%- set present = segments_column_names(table_name) -%}
  {%- set missing = [] -%}
  {%- for name in required_columns -%}
    {%- if name not in present -%}{%- do missing.append(name) -%}{%- endif -%}
  {%- endfor -%}
  {%- if missing -%}
    {{ exceptions.raise_compiler_error(
        "segments: " ~ src ~ " is missing required column(s) " ~ missing | join(', ')
        ~ " (the input contract needs " ~ required_columns | join(', ') ~ "; found " ~ present | join(', ') ~ ")") }}
  {%- endif -%}
  {{ return(present) }}
{%- endmacro %}
