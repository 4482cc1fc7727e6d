{#-
  The training-time distributions that segment_drift compares today's customers
  with: for each view's model version, the share of customers per bin of every
  feature the model uses, and the share of each segment.

  A model version is captured once, by the first run that scores with it, which
  is the run that fitted it (its training as_of_date) unless the version predates
  this model. Numeric features get bins between their deciles
  (var segments_drift_bins, default 10) - the standard PSI set-up; a bin's index
  is the number of edges at or below the value, so repeated deciles of a skewed
  feature simply leave bins empty. The edges are read in one query at compile time
  (segments_quantile_edges) and written in as exact literals, which keeps the
  statement small enough for every engine's planner (Spark's included). Text
  features get one bin per frequent level
  (var segments_drift_max_levels, default 20) plus one for the rest. Missing
  values are a bin of their own (-1), so a growing share of nulls is drift too.

  Past distributions cannot be rebuilt from today's data, so --full-refresh is
  ignored unless var segments_history_allow_full_refresh is true.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=var('segments_history_allow_full_refresh', false),
) }}

{%- set n_bins = var('segments_drift_bins', 10) | int -%}
{%- set max_levels = var('segments_drift_max_levels', 20) | int -%}
{%- set features_relation = ref('segments', 'customer_features') -%}
{%- set assignments_relation = ref('segments', 'segment_assignments') -%}
{%- set models_relation = ref('segments', 'segment_models') -%}
{%- set run_date_sql = segments_as_of_date() -%}
{%- set double = segments_type_double() -%}
{%- set numeric_types = '^(u?(tiny|small|medium|big|huge)?int(eger)?|int[0-9]+|float[0-9]*|double|real|decimal|numeric|number)\\b' -%}

{#- Which (view, model_version) pairs score today and are not captured yet, and their features. -#}
{%- set plans = [] -%}
{%- if execute -%}
    {%- set feature_columns = {} -%}
    {%- for column in adapter.get_columns_in_relation(features_relation) -%}
        {%- do feature_columns.update({column.name | lower: column}) -%}
    {%- endfor -%}
    {%- set captured = [] -%}
    {%- if is_incremental() -%}
        {%- for row in run_query('select distinct view, model_version from ' ~ this) -%}
            {%- do captured.append(row[0] ~ '|' ~ row[1]) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for used in run_query(segments_drift_versions_in_use() ~ ' order by view')
          if (used[0] ~ '|' ~ used[1]) not in captured -%}
        {%- set model_sql -%}
            select parameters, training_as_of_date
            from {{ models_relation }}
            where view = {{ segments_string_literal(used[0]) }} and model_version = {{ used[1] }}
        {%- endset -%}
        {%- set model_rows = run_query(model_sql) -%}
        {%- set parameters = fromjson(model_rows[0][0]) if model_rows | length > 0 and model_rows[0][0] else {} -%}
        {%- set numeric = [] -%}
        {%- set text = [] -%}
        {%- for name in (parameters.get('features', []) if parameters is mapping else []) -%}
            {%- set column = feature_columns.get(name | lower) -%}
            {%- if column is none -%}
                {{ log("segments: drift reference for view " ~ used[0] ~ " v" ~ used[1] ~ ": feature " ~ name ~ " is not in customer_features, left out", info=true) }}
            {#- dbt's Column.is_numeric() misses parametrised types such as DECIMAL(38,12) -#}
            {%- elif column.is_number() or modules.re.match(numeric_types, column.dtype | lower) -%}
                {%- do numeric.append(column.name) -%}
            {%- else -%}
                {%- do text.append(column.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do plans.append({
            'view': used[0],
            'model_version': used[1],
            'training_as_of_date': model_rows[0][1] if model_rows | length > 0 else none,
            'numeric': numeric,
            'text': text,
        }) -%}
    {%- endfor -%}
{%- endif -%}

{#- Decile edges of every numeric feature, computed once and written in as literals. -#}
{%- set numeric_features = [] -%}
{%- for plan in plans -%}
    {%- for feature in plan.numeric if feature not in numeric_features -%}
        {%- do numeric_features.append(feature) -%}
    {%- endfor -%}
{%- endfor -%}
{%- set edges_by_feature = segments_quantile_edges(features_relation, numeric_features, n_bins) -%}

with run_date as (

    select as_of_date from {{ ref('segments', 'int_segments__as_of_date') }}

),

numeric_bins as (

    {%- for b in range(-1, n_bins) %}
    select {{ b }} as bin{% if not loop.last %} union all{% endif %}
    {%- endfor %}

),

captured as (

    {%- for plan in plans %}
    {%- set plan_loop = loop %}
    {%- set key = segments_string_literal(plan.view) ~ ' as view, cast(' ~ plan.model_version ~ ' as ' ~ dbt.type_int() ~ ') as model_version' %}

    -- segment shares of the version
    select
        {{ key }},
        cast('segment_share' as {{ dbt.type_string() }}) as measure_type,
        cast('segment_id' as {{ dbt.type_string() }}) as measure,
        cast('segments' as {{ dbt.type_string() }}) as binning,
        cast(segment_id as {{ dbt.type_int() }}) as bin,
        cast(max(segment_name) as {{ dbt.type_string() }}) as bin_label,
        cast(null as {{ double }}) as lower_edge,
        cast(null as {{ double }}) as upper_edge,
        count(*) as customers
    from {{ assignments_relation }}
    where as_of_date = {{ run_date_sql }}
        and view = {{ segments_string_literal(plan.view) }}
    group by segment_id

    {%- for feature in plan.numeric %}
    {%- set edges = edges_by_feature.get(feature, []) %}
    union all
    select
        {{ key }},
        'feature',
        {{ segments_string_literal(feature) }},
        'deciles',
        numeric_bins.bin,
        cast(numeric_bins.bin as {{ dbt.type_string() }}),
        case numeric_bins.bin
            {%- for edge in edges %}
            when {{ loop.index }} then {{ segments_edge_literal(edge) }}
            {%- endfor %}
        end,
        case numeric_bins.bin
            {%- for edge in edges %}
            when {{ loop.index0 }} then {{ segments_edge_literal(edge) }}
            {%- endfor %}
        end,
        coalesce(counted.customers, 0)
    from numeric_bins
    left join (
        select
            case
                when {{ feature }} is null then -1
                else 0
                {%- for edge in edges if edge is not none %}
                    + case when cast({{ feature }} as {{ double }}) >= {{ segments_double_literal(edge) }} then 1 else 0 end
                {%- endfor %}
            end as bin,
            count(*) as customers
        from {{ features_relation }}
        group by 1
    ) as counted
        on counted.bin = numeric_bins.bin
    {%- endfor %}

    {%- for feature in plan.text %}
    union all
    select
        {{ key }},
        'feature',
        {{ segments_string_literal(feature) }},
        'levels',
        bin,
        max(bin_label),
        cast(null as {{ double }}),
        cast(null as {{ double }}),
        sum(customers)
    from (
        select
            case when level is null then -1 when level_rank <= {{ max_levels }} then level_rank else 0 end as bin,
            case when level is null then '(missing)' when level_rank <= {{ max_levels }} then level else '(other)' end as bin_label,
            customers
        from (
            select
                level,
                customers,
                row_number() over (order by case when level is null then 1 else 0 end, customers desc, level) as level_rank
            from (
                select cast({{ feature }} as {{ dbt.type_string() }}) as level, count(*) as customers
                from {{ features_relation }}
                group by 1
            ) as counted_levels
        ) as levels
    ) as binned
    group by bin
    {%- endfor %}
    {%- if not plan_loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

    {%- if plans | length == 0 %}
    {#- nothing new to capture: an empty, typed result -#}
    select
        cast(null as {{ dbt.type_string() }}) as view,
        cast(null as {{ dbt.type_int() }}) as model_version,
        cast(null as {{ dbt.type_string() }}) as measure_type,
        cast(null as {{ dbt.type_string() }}) as measure,
        cast(null as {{ dbt.type_string() }}) as binning,
        cast(null as {{ dbt.type_int() }}) as bin,
        cast(null as {{ dbt.type_string() }}) as bin_label,
        cast(null as {{ double }}) as lower_edge,
        cast(null as {{ double }}) as upper_edge,
        cast(0 as {{ dbt.type_bigint() }}) as customers
    from run_date
    where 1 = 0
    {%- endif %}

),

{%- set training_dates = [] -%}
{%- for plan in plans -%}
    {%- do training_dates.append("when " ~ segments_string_literal(plan.view) ~ " then "
        ~ ("cast(" ~ segments_string_literal(plan.training_as_of_date) ~ " as date)" if plan.training_as_of_date else "cast(null as date)")) -%}
{%- endfor %}

shared as (

    select
        captured.view,
        captured.model_version,
        {%- if training_dates %}
        case captured.view {{ training_dates | join(' ') }} end as training_as_of_date,
        {%- else %}
        cast(null as date) as training_as_of_date,
        {%- endif %}
        run_date.as_of_date as reference_as_of_date,
        captured.measure_type,
        captured.measure,
        captured.binning,
        captured.bin,
        captured.bin_label,
        captured.lower_edge,
        captured.upper_edge,
        cast(captured.customers as {{ dbt.type_bigint() }}) as customers,
        {{ segments_safe_divide('captured.customers', 'sum(captured.customers) over (partition by captured.view, captured.measure)') }} as share
    from captured
    cross join run_date

)

select * from shared
