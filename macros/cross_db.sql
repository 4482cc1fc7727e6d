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
    Each value comes back behind a one-character marker and loses it here, so dbt's
    result table cannot read '007' as a number, 'true' as a boolean or 'NA' as null.
    Empty at parse time.
  -#}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set query -%}
    select {{ dbt.concat(["'~'", column]) }} as value, sum({{ weight }}) as weight
    from {{ relation }}
    where {{ column }} is not null
    group by {{ column }}
    order by 2 desc, 1
  {%- endset -%}
  {%- set values = [] -%}
  {%- for marked in run_query(query).columns[0].values() -%}
    {%- do values.append(marked[1:]) -%}
  {%- endfor -%}
  {{ return(values) }}
{%- endmacro %}


{% macro segments_pivot_columns(values, prefix, reserved=[]) -%}
  {#-
    [(value, column_name)]: one valid, distinct column per value. The name is the
    prefix and the value's slug, so 'Home & Garden' becomes <prefix>home_garden.
    Where two values share a slug (they differ only in case or punctuation), the slug
    is cut to fit, or it is a reserved name (such as the pooled `other`), a short hash
    of the exact value is appended: names never depend on the order of the values, so
    a column means the same value on every run. Names stay within 63 characters.
  -#}
  {%- set limit = 63 - (prefix | length) - 7 -%}
  {%- set slugs = [] -%}
  {%- for value in values -%}{%- do slugs.append(segments_slug(value)) -%}{%- endfor -%}
  {%- set pairs = [] -%}
  {%- for value in values -%}
    {%- set slug = slugs[loop.index0] -%}
    {%- if slugs.count(slug) > 1 or slug | length > limit or slug in reserved -%}
      {%- set slug = slug[:limit] ~ '_' ~ local_md5(value | string)[:6] -%}
    {%- endif -%}
    {%- do pairs.append((value, prefix ~ slug)) -%}
  {%- endfor -%}
  {{ return(pairs) }}
{%- endmacro %}


{% macro segments_exact_duplicate_rows(relation, columns) -%}
  {#- One row, `row_count`: copies beyond the first of rows equal in every one of `columns` (nulls equal). -#}
  {{ return(adapter.dispatch('segments_exact_duplicate_rows', 'segments')(relation, columns)) }}
{%- endmacro %}

{% macro default__segments_exact_duplicate_rows(relation, columns) -%}
    select sum(copies - 1) as row_count
    from (
        select count(*) as copies
        from {{ relation }}
        group by {{ columns | join(', ') }}
        having count(*) > 1
    ) as repeated
{%- endmacro %}

{#-
  Where a cheap row hash exists, only rows whose hash repeats are grouped on every
  column: still exact (a collision is ruled out by the full comparison), and at 16M
  lines less than half the time of grouping all of them on ten columns.
-#}
{% macro duckdb__segments_exact_duplicate_rows(relation, columns) -%}
    select sum(copies - 1) as row_count
    from (
        select count(*) as copies
        from {{ relation }}
        where hash({{ columns | join(', ') }}) in (
            select hash({{ columns | join(', ') }})
            from {{ relation }}
            group by 1
            having count(*) > 1
        )
        group by {{ columns | join(', ') }}
        having count(*) > 1
    ) as repeated
{%- endmacro %}

{% macro spark__segments_exact_duplicate_rows(relation, columns) -%}
  {{ return(duckdb__segments_exact_duplicate_rows(relation, columns)) }}
{%- endmacro %}

{% macro databricks__segments_exact_duplicate_rows(relation, columns) -%}
  {{ return(duckdb__segments_exact_duplicate_rows(relation, columns)) }}
{%- endmacro %}

{% macro snowflake__segments_exact_duplicate_rows(relation, columns) -%}
  {{ return(duckdb__segments_exact_duplicate_rows(relation, columns)) }}
{%- endmacro %}
