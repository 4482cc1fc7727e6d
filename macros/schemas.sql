{#-
  Where the package's relations go.

  dbt (1.11) picks generate_schema_name per node: for a node of an installed package
  it uses that package's own generate_schema_name when the package defines one, and
  the root project's (or dbt's built-in) otherwise; see RelationUpdate in
  dbt/parser/base.py and Manifest.find_generate_macro_by_name. This package defines
  one, so its relations land in the same schemas whatever the host's
  generate_schema_name does: the dbt default (<target schema>_<custom>), a host that
  returns custom_schema_name as it is, one that ignores it, or one that returns
  none for seeds. The host's own nodes keep the host's macro.

  dbt_project.yml gives every package node a schema role: `segments` (public
  outputs, per-view helpers and seeds), `segments_staging` (staging views) or
  `segments_intermediate` (intermediate tables). Each role maps to a var:

    segments_schema               default segments
    segments_staging_schema       default segments_staging
    segments_intermediate_schema  default segments_intermediate
    segments_schema_prefix        default true: <target schema>_<name>, like dbt's
                                  default, so every target (dev, ci, prod) keeps its
                                  own copy; false: the names exactly as given.

  A var set to null puts that role into the target schema itself. Any other schema a
  host configures on the package's nodes (+schema in its dbt_project.yml) is used
  the same way (prefixed unless segments_schema_prefix is false).

  When this project is the root project (the standalone build, `make demo`),
  everything stays in the target schema, the layout the demo, the report, the
  backfill and sync.example.yml read.
-#}

{% macro generate_schema_name(custom_schema_name, node) -%}
  {{- segments_generate_schema_name(custom_schema_name, node) -}}
{%- endmacro %}


{% macro segments_generate_schema_name(custom_schema_name, node) -%}
  {%- set default_schema = target.schema | trim -%}
  {%- if project_name == 'segments' or custom_schema_name is none -%}
    {{- default_schema -}}
  {%- else -%}
    {%- set roles = {
        'segments': var('segments_schema', 'segments'),
        'segments_staging': var('segments_staging_schema', 'segments_staging'),
        'segments_intermediate': var('segments_intermediate_schema', 'segments_intermediate'),
    } -%}
    {%- set custom = custom_schema_name | trim -%}
    {%- set name = roles[custom] if custom in roles else custom -%}
    {%- if name is none or (name | string | trim) in ['', 'None', 'none'] -%}
      {{- default_schema -}}
    {%- elif var('segments_schema_prefix', true) in [false, 'false', 'False', 0, '0', 'no'] -%}
      {{- name | string | trim -}}
    {%- else -%}
      {{- default_schema ~ '_' ~ (name | string | trim) -}}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}
