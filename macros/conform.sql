{#-
  Type conformance for the raw tables. Staging reads each source column through
  these macros, so any accepted source type reaches the models as one type:

  - timestamps: DATE, TIMESTAMP, TIMESTAMP_NS, TIMESTAMPTZ (converted to UTC wall-clock
    time) or ISO-8601 text (an offset such as Z or +02:00 is honoured and converted to
    UTC; text without one is taken as it is);
  - numbers: any numeric type passes through unchanged (DECIMAL stays exact);
    numeric text is parsed as a double;
  - keys (customer_id, order_id, product_id): never touched, whatever their type.

  Text that cannot be read as the column's kind stops the run with a message naming
  the table, the column, how many values fail and a sample: such a column is a
  mapping error upstream, not a row defect, so no row is silently lost.
-#}

{% macro segments_is_text_column(column) -%}
  {#- Whether a source column holds text (so its values must be parsed). -#}
  {%- if column is none -%}{{ return(false) }}{%- endif -%}
  {%- set dtype = column.dtype | lower -%}
  {#- is_string() knows text and varchar; Spark says string, others add a length: varchar(64). -#}
  {{ return(column.is_string() or dtype == 'string' or dtype.startswith('varchar') or dtype.startswith('character varying')) }}
{%- endmacro %}


{% macro segments_is_timestamptz_column(column) -%}
  {%- if column is none -%}{{ return(false) }}{%- endif -%}
  {%- set dtype = column.dtype | lower -%}
  {{ return('with time zone' in dtype or dtype in ['timestamptz', 'timestamp_tz', 'timestamp with local time zone']) }}
{%- endmacro %}


{% macro segments_try_cast(expression, sql_type) -%}
  {{ return(adapter.dispatch('segments_try_cast', 'segments')(expression, sql_type)) }}
{%- endmacro %}

{#- DuckDB, Snowflake, Spark 3.4+ and Databricks all have try_cast. -#}
{% macro default__segments_try_cast(expression, sql_type) -%}
  try_cast({{ expression }} as {{ sql_type }})
{%- endmacro %}

{% macro bigquery__segments_try_cast(expression, sql_type) -%}
  safe_cast({{ expression }} as {{ sql_type }})
{%- endmacro %}

{#-
  PostgreSQL before 16 has neither try_cast nor pg_input_is_valid: the text is
  checked against the shape of an ISO date-time or a decimal number first, and only
  text of that shape is cast.
-#}
{% macro postgres__segments_try_cast(expression, sql_type) -%}
  {%- set pattern = '^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?[ ]*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?$'
                    if 'time' in sql_type | lower else '^[ ]*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?[ ]*$' -%}
  case when {{ segments_regex_matches(expression, pattern) }} then cast({{ expression }} as {{ sql_type }}) end
{%- endmacro %}


{% macro segments_regex_matches(expression, pattern) -%}
  {{ return(adapter.dispatch('segments_regex_matches', 'segments')(expression, pattern)) }}
{%- endmacro %}

{% macro default__segments_regex_matches(expression, pattern) -%}
  regexp_like({{ expression }}, {{ segments_string_literal(pattern) }})
{%- endmacro %}

{% macro duckdb__segments_regex_matches(expression, pattern) -%}
  regexp_matches({{ expression }}, {{ segments_string_literal(pattern) }})
{%- endmacro %}

{% macro postgres__segments_regex_matches(expression, pattern) -%}
  ({{ expression }} ~ {{ segments_string_literal(pattern) }})
{%- endmacro %}

{% macro spark__segments_regex_matches(expression, pattern) -%}
  ({{ expression }} rlike {{ segments_string_literal(pattern) }})
{%- endmacro %}

{% macro databricks__segments_regex_matches(expression, pattern) -%}
  {{ return(spark__segments_regex_matches(expression, pattern)) }}
{%- endmacro %}

{% macro bigquery__segments_regex_matches(expression, pattern) -%}
  regexp_contains({{ expression }}, {{ segments_string_literal(pattern) }})
{%- endmacro %}


{#- A time of day followed by an offset: 10:15, 10:15:00 or 10:15:00.123, then Z, +02, +0200 or +02:00. -#}
{% macro segments_iso_offset_pattern() -%}
  {{ return('[0-9]:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?[ ]*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$') }}
{%- endmacro %}


{% macro segments_text_to_timestamp(expression, safe=false) -%}
  {#- ISO-8601 text as a timestamp: with an offset, the UTC time; without one, as written. -#}
  {%- set tz_type = 'timestamp with time zone' if target.type != 'duckdb' else 'timestamptz' -%}
  {%- if safe -%}
  case when {{ segments_regex_matches(expression, segments_iso_offset_pattern()) }}
      then {{ segments_timestamptz_to_utc(segments_try_cast(expression, tz_type)) }}
      else {{ segments_try_cast(expression, dbt.type_timestamp()) }} end
  {%- else -%}
  case when {{ segments_regex_matches(expression, segments_iso_offset_pattern()) }}
      then {{ segments_timestamptz_to_utc('cast(' ~ expression ~ ' as ' ~ tz_type ~ ')') }}
      else cast({{ expression }} as {{ dbt.type_timestamp() }}) end
  {%- endif -%}
{%- endmacro %}


{% macro segments_timestamptz_to_utc(expression) -%}
  {{ return(adapter.dispatch('segments_timestamptz_to_utc', 'segments')(expression)) }}
{%- endmacro %}

{#- DuckDB and PostgreSQL: AT TIME ZONE on a timestamptz gives the wall-clock time there. -#}
{% macro default__segments_timestamptz_to_utc(expression) -%}
  cast(({{ expression }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro snowflake__segments_timestamptz_to_utc(expression) -%}
  cast(convert_timezone('UTC', {{ expression }}) as timestamp_ntz)
{%- endmacro %}

{#- Spark and BigQuery timestamps are instants already; their plain cast is UTC-based. -#}
{% macro spark__segments_timestamptz_to_utc(expression) -%}
  cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro databricks__segments_timestamptz_to_utc(expression) -%}
  {{ return(spark__segments_timestamptz_to_utc(expression)) }}
{%- endmacro %}

{% macro bigquery__segments_timestamptz_to_utc(expression) -%}
  {{ return(spark__segments_timestamptz_to_utc(expression)) }}
{%- endmacro %}


{% macro segments_require_parsable(table_name, column_name, kind, expression) -%}
  {#-
    Stop the run when a text column holds values that are not of its kind: the
    message names the table, the column, how many values fail and one of them.
    Blank text counts as null (the row rules count nulls), not as a failure.
  -#}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- set value = 'trim(' ~ column_name ~ ')' -%}
  {%- set parsed = segments_text_to_timestamp(value, safe=true) if kind == 'timestamp'
                   else segments_try_cast(value, segments_type_double()) -%}
  {%- set query -%}
    select count(*) as failures, min({{ column_name }}) as sample
    from {{ segments_input(table_name) }}
    where {{ column_name }} is not null
      and {{ value }} <> ''
      and ({{ parsed }}) is null
  {%- endset -%}
  {%- set row = run_query(query).rows[0] -%}
  {%- if row[0] | int > 0 -%}
    {%- set expected = 'a date or timestamp (DATE, TIMESTAMP, TIMESTAMPTZ or ISO-8601 text such as 2026-03-01 or 2026-03-01T10:15:00+02:00)'
                       if kind == 'timestamp' else 'a number (any numeric type, or text such as 12.50)' -%}
    {{ exceptions.raise_compiler_error(
        "segments: " ~ segments_input_label(table_name) ~ ", column " ~ column_name ~ ": "
        ~ row[0] ~ " value(s) are not " ~ expected ~ ", e.g. " ~ (row[1] | string | tojson)
        ~ ". The run stops so that no row is lost silently: fix the mapping or the values upstream.") }}
  {%- endif -%}
  {{ return('') }}
{%- endmacro %}


{% macro segments_conformed_timestamp(table_name, columns, column_name) -%}
  {#- The column as a timestamp (see the top of this file); a typed null when the source lacks it. -#}
  {%- set column = columns.get(column_name) if columns is not none else none -%}
  {%- if columns is not none and column is none -%}
    {{ return('cast(null as ' ~ dbt.type_timestamp() ~ ')') }}
  {%- elif segments_is_text_column(column) -%}
    {%- do segments_require_parsable(table_name, column_name, 'timestamp', column_name) -%}
    {{ return(segments_text_to_timestamp("nullif(trim(" ~ column_name ~ "), '')")) }}
  {%- elif segments_is_timestamptz_column(column) -%}
    {{ return(segments_timestamptz_to_utc(column_name)) }}
  {%- else -%}
    {{ return('cast(' ~ column_name ~ ' as ' ~ dbt.type_timestamp() ~ ')') }}
  {%- endif -%}
{%- endmacro %}


{% macro segments_conformed_number(table_name, columns, column_name) -%}
  {#-
    The column as a number: numeric types pass through unchanged (casting 16M
    amounts to a wide decimal costs more than the whole RFM stage); numeric text
    becomes a double. A typed null when the source lacks the column.
  -#}
  {%- set column = columns.get(column_name) if columns is not none else none -%}
  {%- if columns is not none and column is none -%}
    {{ return('cast(null as ' ~ dbt.type_numeric() ~ ')') }}
  {%- elif segments_is_text_column(column) -%}
    {%- do segments_require_parsable(table_name, column_name, 'number', column_name) -%}
    {{ return("cast(nullif(trim(" ~ column_name ~ "), '') as " ~ segments_type_double() ~ ")") }}
  {%- else -%}
    {{ return(column_name) }}
  {%- endif -%}
{%- endmacro %}


{% macro segments_conformed_text(columns, column_name, expression=none) -%}
  {#- Text trimmed, blank as null (the value kept as written otherwise); a typed null when absent. -#}
  {%- if columns is not none and column_name not in columns -%}
    {{ return('cast(null as ' ~ dbt.type_string() ~ ')') }}
  {%- endif -%}
  {{ return(expression if expression is not none
            else "nullif(trim(cast(" ~ column_name ~ " as " ~ dbt.type_string() ~ ")), '')") }}
{%- endmacro %}


{% macro segments_passthrough(columns, column_name, null_type) -%}
  {#- A key or other opaque column exactly as the source holds it; a typed null when absent. -#}
  {%- if columns is not none and column_name not in columns -%}
    {{ return('cast(null as ' ~ null_type ~ ')') }}
  {%- endif -%}
  {{ return(column_name) }}
{%- endmacro %}


{% macro segments_keys_match(column_name, left, left_alias, right, right_alias) -%}
  {#-
    The join condition left_alias.column = right_alias.column for a key that two inputs
    may type differently (order lines with BIGINT product ids, a products table with
    VARCHAR ones). Keys are opaque, so differently typed keys are compared as text:
    7 never matches '007', and text that is not a number never stops the run, where an
    implicit cast would do either. Equal types (the usual case) compare as they are.
  -#}
  {%- set left_type = segments_key_type(left, column_name, required=false) -%}
  {%- set right_type = segments_key_type(right, column_name, required=false) -%}
  {%- if left_type is none or right_type is none or left_type | lower == right_type | lower -%}
    {{ return(left_alias ~ '.' ~ column_name ~ ' = ' ~ right_alias ~ '.' ~ column_name) }}
  {%- endif -%}
  {{ log("segments: " ~ column_name ~ " is " ~ left_type ~ " in " ~ left ~ " but " ~ right_type ~ " in " ~ right
         ~ "; the two are joined as text", info=true) }}
  {%- set text = dbt.type_string() -%}
  {{ return('cast(' ~ left_alias ~ '.' ~ column_name ~ ' as ' ~ text ~ ') = cast(' ~ right_alias ~ '.' ~ column_name ~ ' as ' ~ text ~ ')') }}
{%- endmacro %}


{% macro segments_key_type(relation, column_name='customer_id', required=true) -%}
  {#-
    The SQL type of a key column of a built relation, so an output computed outside
    SQL (a Python model's Arrow result) can be given back its input's exact type:
    a UUID id stays a UUID, never a number or plain text. At parse time: text. With
    required=false, none where the relation or column cannot be read (a unit test's
    fixture) instead of an error.
  -#}
  {%- if not execute -%}{{ return(dbt.type_string() if required else none) }}{%- endif -%}
  {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower == column_name -%}
    {{ return(column.data_type) }}
  {%- endfor -%}
  {%- if not required -%}{{ return(none) }}{%- endif -%}
  {{ exceptions.raise_compiler_error("segments: " ~ relation ~ " has no column " ~ column_name) }}
{%- endmacro %}
