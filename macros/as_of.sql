{% macro segments_as_of_date() -%}
  {#- The run's as_of_date as a scalar SQL expression (see int_segments__as_of_date). -#}
  (select as_of_date from {{ ref('segments', 'int_segments__as_of_date') }})
{%- endmacro %}

{% macro segments_known_statuses() -%}
  {{ return(var('segments_counting_statuses', ['completed']) + var('segments_excluded_statuses', ['cancelled', 'returned'])) }}
{%- endmacro %}

{% macro segments_has_categories() -%}
  {#- Product affinity needs product ids on the lines and a products table to map them to categories. -#}
  {%- if not execute -%}{{ return(true) }}{%- endif -%}
  {{ return(segments_using('products') and 'product_id' in segments_column_names('order_lines')) }}
{%- endmacro %}
