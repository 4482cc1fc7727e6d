{#-
  Small dispatched helpers for what dbt's cross-database macros do not cover.
  Each adapter may override them as <adapter>__<name>.
-#}

{% macro segments_type_double() -%}
  {{ return(adapter.dispatch('segments_type_double', 'segments')()) }}
{%- endmacro %}

{% macro default__segments_type_double() -%}
  {{ return(dbt.type_float()) }}
{%- endmacro %}

{#- dbt's type_float() is a 4-byte FLOAT on DuckDB; features need 8 bytes. -#}
{% macro duckdb__segments_type_double() -%}double{%- endmacro %}

{% macro postgres__segments_type_double() -%}double precision{%- endmacro %}

{% macro spark__segments_type_double() -%}double{%- endmacro %}


{% macro segments_safe_divide(numerator, denominator) -%}
  {#- numerator / denominator as a double, null where the denominator is zero or null. -#}
  (cast({{ numerator }} as {{ segments_type_double() }}) / nullif(cast({{ denominator }} as {{ segments_type_double() }}), 0))
{%- endmacro %}


{% macro segments_days_between(start_date, end_date) -%}
  {#- Whole days from start_date to end_date, both cast to dates first. -#}
  {{ dbt.datediff('cast(' ~ start_date ~ ' as date)', 'cast(' ~ end_date ~ ' as date)', 'day') }}
{%- endmacro %}


{% macro segments_quintile_score(order_by) -%}
  {#-
    1-5 score from a customer's rank: 1 + floor(5 x share of customers strictly below
    them), capped at 5. Ties share a score, so the result is deterministic and a
    hand computation agrees with it.
  -#}
  cast(least(5, 1 + floor(5 * percent_rank() over (order by {{ order_by }}))) as {{ dbt.type_int() }})
{%- endmacro %}


{% macro segments_slug(value) -%}
  {#- A column-name-safe slug: lower case, runs of other characters become one underscore. -#}
  {%- set slug = modules.re.sub('[^a-z0-9]+', '_', (value | string | lower)).strip('_') -%}
  {{ return(slug if slug else 'blank') }}
{%- endmacro %}


{% macro segments_top_values(relation, column, weight) -%}
  {#-
    The non-null values of `column` in `relation`, most important first (by
    sum(weight), then value), read at run time so pivots follow the data.
    Empty at parse time.
  -#}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set query -%}
    select {{ column }} as value, sum({{ weight }}) as weight
    from {{ relation }}
    where {{ column }} is not null
    group by {{ column }}
    order by 2 desc, 1
  {%- endset -%}
  {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}


{% macro segments_pivot_columns(values, prefix) -%}
  {#- [(value, column_name)] with unique slugged column names for a pivot. -#}
  {%- set pairs = [] -%}
  {%- set used = [] -%}
  {%- for value in values -%}
    {%- set base = prefix ~ segments_slug(value) -%}
    {%- set ns = namespace(name=base, n=2) -%}
    {%- for _ in range(1000) if ns.name in used -%}
      {%- set ns.name = base ~ '_' ~ ns.n -%}{%- set ns.n = ns.n + 1 -%}
    {%- endfor -%}
    {%- do used.append(ns.name) -%}
    {%- do pairs.append((value, ns.name)) -%}
  {%- endfor -%}
  {{ return(pairs) }}
{%- endmacro %}
