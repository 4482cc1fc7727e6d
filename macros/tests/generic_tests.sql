{#- Small generic data tests of our own (the project uses no dbt packages). -#}

{% test segments_expression_is_true(model, expression, column_name=none, where_clause=none) %}
{#- Rows for which `expression` is false or null fail. -#}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{%- if where_clause %}
    and ({{ where_clause }})
{%- endif %}
{% endtest %}


{% test segments_accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
{#- Non-null values outside [min_value, max_value] fail. -#}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and (
    1 = 0
    {%- if min_value is not none %}
    or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
    or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
    {%- endif %}
  )
{% endtest %}


{% test segments_unique_combination(model, combination_of_columns) %}
{#- Each combination of the columns appears at most once. -#}
select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}


{% test segments_row_count_equals(model, expected, where_clause=none) %}
{#- The model (optionally filtered) has exactly `expected` rows. -#}
select row_count
from (
    select count(*) as row_count
    from {{ model }}
    {%- if where_clause %}
    where {{ where_clause }}
    {%- endif %}
) as counted
where row_count <> {{ expected }}
{% endtest %}


{% test segments_equal_row_count(model, compare_model, where_clause=none, compare_where_clause=none) %}
{#- Two relations (optionally filtered) have the same number of rows. -#}
select model_rows, compare_rows
from (
    select
        (select count(*) from {{ model }}{% if where_clause %} where {{ where_clause }}{% endif %}) as model_rows,
        (select count(*) from {{ compare_model }}{% if compare_where_clause %} where {{ compare_where_clause }}{% endif %}) as compare_rows
) as counts
where model_rows <> compare_rows
{% endtest %}

