{#-
  Seeds on Spark with text that contains a quote.

  dbt-spark 1.11 loads seed rows through `%s` bindings that its session-mode cursor
  substitutes without escaping, so a value like "Can't Lose Them" (segments__rfm_segment_grid)
  breaks the INSERT. This override renders every value as an escaped literal, which
  works for every connection method. dbt looks up `spark__load_csv_rows` in the
  root project first, so it replaces the adapter's macro without any wiring.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set batch_size = get_batch_size() -%}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(batch_size) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for col_name in agate_table.column_names -%}
          {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
          {%- set type = column_override.get(col_name, inferred_type) -%}
          {%- set value = row[loop.index0] -%}
          {%- if value is none -%}
            cast(null as {{ type }})
          {%- elif value is sameas true or value is sameas false -%}
            cast({{ 'true' if value else 'false' }} as {{ type }})
          {%- else -%}
            cast({{ segments_string_literal(value | string) }} as {{ type }})
          {%- endif -%}
          {%- if not loop.last %},{% endif -%}
        {%- endfor -%})
        {%- if not loop.last %},{% endif %}
      {% endfor %}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- if loop.index0 == 0 -%}{%- do statements.append(sql) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(statements[0] if statements else '') }}
{% endmacro %}
