{#-
  Decile edges for segment_drift_reference, read once at compile time and written
  into the model as literals. A single statement that both computed the percentiles
  and binned every feature against them grew to dozens of joins, which Spark's
  planner could not finish; one small aggregate query here keeps the model plain.
-#}

{% macro segments_quantile_edges(relation, columns, n_bins) -%}
  {#-
    {column: [edge_1, ..., edge_{n_bins-1}]}: the interpolated quantiles i/n_bins of
    each numeric column (nulls ignored; edges are none when a column has no values).
    Empty at parse time and when columns is empty.
  -#}
  {%- set edges = {} -%}
  {%- if execute and columns | length > 0 -%}
    {%- set fractions = [] -%}
    {%- for i in range(1, n_bins) -%}{%- do fractions.append(i / n_bins) -%}{%- endfor -%}
    {%- set selects = [] -%}
    {%- for column in columns -%}
      {%- do selects.append(adapter.dispatch('segments_quantile_edges_select', 'segments')(relation, column, fractions)) -%}
    {%- endfor -%}
    {%- for row in run_query(selects | join('\nunion all\n')) -%}
      {%- set values = [] -%}
      {%- for i in range(1, n_bins) -%}{%- do values.append(row[i]) -%}{%- endfor -%}
      {%- do edges.update({row[0]: values}) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(edges) }}
{%- endmacro %}

{#- One row: the column's name, then one column per fraction. -#}
{% macro default__segments_quantile_edges_select(relation, column, fractions) -%}
  select {{ segments_string_literal(column) }} as feature
  {%- for fraction in fractions %},
      percentile_cont({{ fraction }}) within group (order by cast({{ column }} as {{ segments_type_double() }}))
  {%- endfor %}
  from {{ relation }}
{%- endmacro %}

{#- One pass for all fractions: several times faster than one quantile aggregate each. -#}
{% macro duckdb__segments_quantile_edges_select(relation, column, fractions) -%}
  select {{ segments_string_literal(column) }} as feature
  {%- for fraction in fractions %}, quantiles[{{ loop.index }}]{% endfor %}
  from (
      select quantile_cont(cast({{ column }} as double), [{{ fractions | join(', ') }}]) as quantiles
      from {{ relation }}
  ) as computed
{%- endmacro %}

{#- Spark's exact percentile takes an array of fractions and sorts once. -#}
{% macro spark__segments_quantile_edges_select(relation, column, fractions) -%}
  select {{ segments_string_literal(column) }} as feature
  {%- for fraction in fractions %}, quantiles[{{ loop.index0 }}]{% endfor %}
  from (
      select percentile(cast({{ column }} as double), array({{ fractions | join(', ') }})) as quantiles
      from {{ relation }}
  ) as computed
{%- endmacro %}

{% macro databricks__segments_quantile_edges_select(relation, column, fractions) -%}
  {{ return(spark__segments_quantile_edges_select(relation, column, fractions)) }}
{%- endmacro %}

{#- BigQuery has percentile_cont only as a window function. -#}
{% macro bigquery__segments_quantile_edges_select(relation, column, fractions) -%}
  select {{ segments_string_literal(column) }} as feature
  {%- for fraction in fractions %}, any_value(q{{ loop.index }}){% endfor %}
  from (
      select
      {%- for fraction in fractions %}
          percentile_cont(cast({{ column }} as float64), {{ fraction }}) over () as q{{ loop.index }}{{ ',' if not loop.last }}
      {%- endfor %}
      from {{ relation }}
  ) as computed
{%- endmacro %}


{% macro segments_edge_literal(value) -%}
  {#- An edge read back from the warehouse as an exact double literal; a column without values has none. -#}
  {{ return('cast(null as ' ~ segments_type_double() ~ ')' if value is none else segments_double_literal(value)) }}
{%- endmacro %}


{% macro segments_drift_versions_in_use() -%}
  {#-
    SQL: one row per view with the newest model_version in segment_assignments on
    the run's as_of_date - the versions segment_drift_reference captures and
    segment_drift measures.
  -#}
  select view, max(model_version) as model_version
  from {{ ref('segments', 'segment_assignments') }}
  where as_of_date = {{ segments_as_of_date() }}
  group by view
{%- endmacro %}
