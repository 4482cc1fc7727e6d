{#-
  Small portable pieces of SQL for in-warehouse scoring. Each is dispatched, so an
  adapter whose spelling differs overrides it as <adapter>__<name>.
-#}

{% macro segments_double_literal(value) -%}
  {#-
    A float constant that every engine reads back as exactly the same 8-byte double.
    Exponent notation is a DOUBLE literal on DuckDB, Spark, Snowflake and BigQuery,
    and an exact NUMERIC on Postgres that converts to float8 with correct rounding;
    17 significant digits always round-trip. A plain decimal literal would be a
    DECIMAL on DuckDB and Spark, whose conversion to double can be off by one unit
    in the last place.
  -#}
  {%- if value is none -%}
    {{ exceptions.raise_compiler_error("segments: a stored model parameter is null where a number is required") }}
  {%- endif -%}
  {%- set number = value | float -%}
  {%- if (number - number) != 0 -%}  {#- true for NaN and for infinities -#}
    {{ exceptions.raise_compiler_error("segments: a stored model parameter is not a finite number: " ~ value) }}
  {%- endif -%}
  {%- set text = "%.16e" | format(number) -%}
  {#- Negative numbers in parentheses: `x - -1` must never read as `x --1`, a comment. -#}
  {{ return('(' ~ text ~ ')' if text.startswith('-') else text) }}
{%- endmacro %}


{% macro segments_least(expressions) -%}
  {{ return(adapter.dispatch('segments_least', 'segments')(expressions)) }}
{%- endmacro %}

{% macro default__segments_least(expressions) -%}
  {#- least() of one argument is an error on Spark, so one expression is returned as is. -#}
  {%- if expressions | length == 1 -%}{{ return('(' ~ expressions[0] ~ ')') }}{%- endif -%}
  {{ return('least(' ~ expressions | join(', ') ~ ')') }}
{%- endmacro %}


{% macro segments_greatest(expressions) -%}
  {{ return(adapter.dispatch('segments_greatest', 'segments')(expressions)) }}
{%- endmacro %}

{% macro default__segments_greatest(expressions) -%}
  {%- if expressions | length == 1 -%}{{ return('(' ~ expressions[0] ~ ')') }}{%- endif -%}
  {{ return('greatest(' ~ expressions | join(', ') ~ ')') }}
{%- endmacro %}


{% macro segments_ln(expression) -%}
  {{ return(adapter.dispatch('segments_ln', 'segments')(expression)) }}
{%- endmacro %}

{% macro default__segments_ln(expression) -%}
  {{ return('ln(' ~ expression ~ ')') }}
{%- endmacro %}


{% macro segments_exp(expression) -%}
  {{ return(adapter.dispatch('segments_exp', 'segments')(expression)) }}
{%- endmacro %}

{% macro default__segments_exp(expression) -%}
  {{ return('exp(' ~ expression ~ ')') }}
{%- endmacro %}


{% macro segments_round_double(expression, digits) -%}
  {#- `expression` rounded to `digits` decimals, as a double. -#}
  {{ return(adapter.dispatch('segments_round_double', 'segments')(expression, digits)) }}
{%- endmacro %}

{% macro default__segments_round_double(expression, digits) -%}
  {{ return('cast(round(' ~ expression ~ ', ' ~ digits ~ ') as ' ~ segments_type_double() ~ ')') }}
{%- endmacro %}

{#- Postgres has round(numeric, int) but no round(double precision, int). -#}
{% macro postgres__segments_round_double(expression, digits) -%}
  {{ return('cast(round(cast(' ~ expression ~ ' as numeric), ' ~ digits ~ ') as ' ~ segments_type_double() ~ ')') }}
{%- endmacro %}


{% macro segments_signed_log1p(expression) -%}
  {#- sign(x) * ln(1 + |x|), the transform of segmentation.transforms.signed_log1p. -#}
  {{ return('(case when ' ~ expression ~ ' < 0 then -' ~ segments_ln('1 - ' ~ expression)
            ~ ' else ' ~ segments_ln('1 + ' ~ expression) ~ ' end)') }}
{%- endmacro %}


{% macro segments_json_string(value) -%}
  {#- A JSON string literal for `value` (quotes and backslashes escaped), as plain text. -#}
  {%- set escaped = (value | string).replace('\\', '\\\\').replace('"', '\\"') -%}
  {{ return('"' ~ escaped ~ '"') }}
{%- endmacro %}


{% macro segments_string_literal(value) -%}
  {#- A SQL string literal for any text (segment names come from users). -#}
  {{ return(adapter.dispatch('segments_string_literal', 'segments')(value | string)) }}
{%- endmacro %}

{% macro default__segments_string_literal(value) -%}
  {{ return("'" ~ value.replace("'", "''") ~ "'") }}
{%- endmacro %}

{#- Spark, Databricks and BigQuery read backslash escapes inside string literals. -#}
{% macro spark__segments_string_literal(value) -%}
  {{ return("'" ~ value.replace('\\', '\\\\').replace("'", "\\'") ~ "'") }}
{%- endmacro %}

{% macro databricks__segments_string_literal(value) -%}
  {{ return(spark__segments_string_literal(value)) }}
{%- endmacro %}

{% macro bigquery__segments_string_literal(value) -%}
  {{ return(spark__segments_string_literal(value)) }}
{%- endmacro %}


{% macro segments_identifier(name) -%}
  {#-
    A column name as SQL. Plain lower-case names stay unquoted, so they resolve on
    every engine (Snowflake folds unquoted names to upper case); anything else is quoted.
  -#}
  {%- if modules.re.match('^[a-z_][a-z0-9_]*$', name) -%}{{ return(name) }}{%- endif -%}
  {{ return(adapter.quote(name)) }}
{%- endmacro %}
