{% macro segments_as_of_date() -%}
  {#- The run's as_of_date as a scalar SQL expression (see int_segments__as_of_date). -#}
  (select as_of_date from {{ ref('segments', 'int_segments__as_of_date') }})
{%- endmacro %}


{% macro segments_excluded_statuses() -%}
  {#-
    Statuses (trimmed, case-folded) whose lines never count: var
    segments_excluded_statuses. Every other status counts, null included.
  -#}
  {%- set statuses = [] -%}
  {%- for s in var('segments_excluded_statuses', ['cancelled', 'canceled', 'returned', 'refunded', 'voided', 'failed']) -%}
    {%- do statuses.append(s | string | trim | lower) -%}
  {%- endfor -%}
  {{ return(statuses) }}
{%- endmacro %}


{% macro segments_known_statuses() -%}
  {#-
    The recognised status vocabulary: var segments_counting_statuses plus the
    excluded ones. A status outside it still counts; data_quality lists it with
    its row count so a user can add it to either list.
  -#}
  {%- set statuses = [] -%}
  {%- for s in var('segments_counting_statuses', []) -%}
    {%- do statuses.append(s | string | trim | lower) -%}
  {%- endfor -%}
  {{ return(statuses + segments_excluded_statuses()) }}
{%- endmacro %}


{% macro segments_literal_list(values) -%}
  {#- A parenthesised list of SQL string literals for IN (...); never empty. -#}
  {%- if not values -%}{{ return("(cast(null as " ~ dbt.type_string() ~ "))") }}{%- endif -%}
  {%- set literals = [] -%}
  {%- for v in values -%}{%- do literals.append(segments_string_literal(v)) -%}{%- endfor -%}
  {{ return('(' ~ literals | join(', ') ~ ')') }}
{%- endmacro %}


{% macro segments_line_counts(status_column='status') -%}
  {#- Whether a line's status lets it count: null, or not an excluded status. -#}
  ({{ status_column }} is null or {{ status_column }} not in {{ segments_literal_list(segments_excluded_statuses()) }})
{%- endmacro %}


{% macro segments_line_key() -%}
  {#-
    The columns that identify an order line, for the duplicate-key rule: var
    segments_line_key when set (a list of source column names; [] for none), else
    order_id and line_number when the source has line_number, else none. Without a
    line key no line is excluded as a duplicate.
  -#}
  {%- set configured = var('segments_line_key', none) -%}
  {%- set present = segments_column_names('order_lines') -%}
  {%- if configured is none -%}
    {{ return(['order_id', 'line_number'] if present is none or 'line_number' in present else []) }}
  {%- endif -%}
  {%- set key = [configured] if configured is string else configured | list -%}
  {%- set contract = ['order_id', 'line_number', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price', 'discount', 'channel', 'status'] -%}
  {%- set missing = [] -%}
  {%- for name in key if (name | lower) not in contract or (present is not none and (name | lower) not in present) -%}
    {%- do missing.append(name) -%}
  {%- endfor -%}
  {%- if missing -%}
    {{ exceptions.raise_compiler_error(
        "segments: var segments_line_key names column(s) " ~ missing | join(', ') ~ " that are not order-line "
        ~ "columns of the input contract (" ~ contract | join(', ') ~ ") present in "
        ~ segments_input_label('order_lines') ~ " (found " ~ (present or []) | join(', ') ~ ")") }}
  {%- endif -%}
  {%- set lowered = [] -%}
  {%- for name in key %}{% do lowered.append(name | lower) %}{% endfor -%}
  {{ return(lowered) }}
{%- endmacro %}


{% macro segments_has_categories() -%}
  {#- Product affinity needs product ids on the lines and a products table to map them to categories. -#}
  {%- if not execute -%}{{ return(true) }}{%- endif -%}
  {{ return(segments_using('products') and 'product_id' in segments_column_names('order_lines')) }}
{%- endmacro %}
