{#-
  In-warehouse scoring: every customer of a features relation assigned to a segment
  with a stored model, in plain SQL arithmetic generated at compile time.

  It reproduces segmentation.pipeline.score_frame step by step:
    transform   per numeric feature: cast to double, sign(x) * ln(1 + |x|) if the
                model logs it, missing -> the stored impute value, then
                (x - centre) / scale; per categorical level a 0/1 column;
    assignment  k-means, mini-batch k-means, Ward: nearest centroid (first one on a
                tie), confidence = 1 - d1 / d2 (nearest and second-nearest
                Euclidean distance), 1 when d2 is 0 or there is one segment;
                HDBSCAN: the same, then a point farther than its cluster's radius is
                an outlier (segment 0) with confidence 1 - radius / d1;
                Gaussian mixture: the component with the highest posterior, whose
                posterior is the confidence (full or diagonal covariances; the
                Cholesky factor is computed here, in Jinja, from the stored matrix);
    output      stable segment id and name from the model, confidence rounded to 6
                decimals, model_version.
  Stored numbers become exponent-notation literals that every engine parses to the
  same double, so on DuckDB the result equals the Python scorer's (tested).

  Only functions every warehouse has are used: ln, exp, sqrt, least, greatest,
  round, case and arithmetic.
-#}

{% macro segments_score_assignments(view, history_relation, features_relation) -%}
  {{ return(adapter.dispatch('segments_score_assignments', 'segments')(view, history_relation, features_relation)) }}
{%- endmacro %}


{% macro default__segments_score_assignments(view, history_relation, features_relation) -%}
  {%- if not execute -%}
    {{ return(segments_empty_assignments(features_relation)) }}
  {%- endif -%}
  {%- set models = segments_stored_models(history_relation, view) -%}
  {%- if models | length == 0 -%}
    {{ log("segments: view " ~ view ~ " has no stored model in " ~ history_relation
           ~ " (fit one with `segments fit --view " ~ view ~ "`); no assignments", info=true) }}
    {{ return(segments_empty_assignments(features_relation)) }}
  {%- endif -%}

  {#- Which stored version scores which as_of_date (usually one date, one model). -#}
  {%- set by_version = {} -%}
  {%- set version_order = [] -%}
  {%- for as_of in segments_feature_dates(features_relation) -%}
    {%- set model = segments_model_for_date(models, as_of) -%}
    {%- if model is none -%}
      {{ exceptions.raise_compiler_error(
          "segments: view " ~ view ~ ": no model in " ~ history_relation ~ " was trained on or before "
          ~ as_of ~ " (the as_of_date of " ~ features_relation ~ "); fit one for that date first") }}
    {%- endif -%}
    {%- if model['model_version'] not in by_version -%}
      {%- do by_version.update({model['model_version']: {'model': model, 'dates': []}}) -%}
      {%- do version_order.append(model['model_version']) -%}
    {%- endif -%}
    {%- do by_version[model['model_version']]['dates'].append(as_of) -%}
  {%- endfor -%}
  {%- if version_order | length == 0 -%}
    {{ return(segments_empty_assignments(features_relation)) }}
  {%- endif -%}

  {%- set columns = segments_relation_columns(features_relation) -%}
  {%- set parts = [] -%}
  {%- for version in version_order -%}
    {%- set entry = by_version[version] -%}
    {%- set where = none if version_order | length == 1 else segments_dates_predicate(entry['dates']) -%}
    {%- do parts.append(segments_score_with_model(
          view, entry['model'], features_relation, columns, where, 'v' ~ version)) -%}
  {%- endfor -%}
  {{ return(parts | join('\nunion all\n')) }}
{%- endmacro %}


{% macro segments_empty_assignments(features_relation) -%}
  {#- The assignment columns with no rows (customer_id keeps the features' type). -#}
  {%- set sql -%}
select
    customer_id,
    cast(as_of_date as date) as as_of_date,
    cast(null as {{ dbt.type_string() }}) as view,
    cast(null as {{ dbt.type_bigint() }}) as segment_id,
    cast(null as {{ dbt.type_string() }}) as segment_name,
    cast(null as {{ segments_type_double() }}) as confidence,
    cast(null as {{ dbt.type_bigint() }}) as model_version
from {{ features_relation }}
where 1 = 0
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{% macro segments_relation_columns(relation) -%}
  {#- {lower-case column name: (name as written, data type)} of a relation. -#}
  {%- set found = {} -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do found.update({column.name | lower: (column.name, column.data_type | lower)}) -%}
  {%- endfor -%}
  {{ return(found) }}
{%- endmacro %}


{% macro segments_dates_predicate(dates) -%}
  {%- set terms = [] -%}
  {%- set listed = [] -%}
  {%- for d in dates -%}
    {%- if d is none -%}
      {%- do terms.append('as_of_date is null') -%}
    {%- else -%}
      {%- do listed.append('cast(' ~ segments_string_literal(d) ~ ' as date)') -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if listed -%}
    {%- do terms.append('cast(as_of_date as date) in (' ~ listed | join(', ') ~ ')') -%}
  {%- endif -%}
  {{ return('(' ~ terms | join(' or ') ~ ')') }}
{%- endmacro %}


{% macro segments_feature_expression(name, data_type) -%}
  {#- A feature column as a double (booleans as 0/1, like the Python scorer). -#}
  {%- set column = segments_identifier(name) -%}
  {%- if 'bool' in data_type -%}
    {{ return('(case when ' ~ column ~ ' then 1 when not ' ~ column ~ ' then 0 end)') }}
  {%- endif -%}
  {{ return('cast(' ~ column ~ ' as ' ~ segments_type_double() ~ ')') }}
{%- endmacro %}


{% macro segments_transform_columns(transform, features_relation, columns) -%}
  {#- [SQL expression] of the scaled feature matrix, in the model's output column order. -#}
  {%- set missing = [] -%}
  {%- for p in transform.get('numeric', []) + transform.get('categorical', []) -%}
    {%- if p['name'] | lower not in columns -%}{%- do missing.append(p['name']) -%}{%- endif -%}
  {%- endfor -%}
  {%- if missing -%}
    {{ exceptions.raise_compiler_error(
        "segments: " ~ features_relation ~ " lacks column(s) " ~ missing | join(', ')
        ~ " used by the stored model; rebuild the features with the same inputs or refit the view") }}
  {%- endif -%}
  {%- set expressions = [] -%}
  {%- for p in transform.get('numeric', []) -%}
    {%- set name, data_type = columns[p['name'] | lower] -%}
    {%- if data_type.startswith(('varchar', 'text', 'string', 'char', 'character')) -%}
      {{ exceptions.raise_compiler_error(
          "segments: " ~ features_relation ~ ", column " ~ name ~ ": the stored model uses it as a number "
          ~ "but its type is " ~ data_type ~ "; list it under 'categorical' and refit") }}
    {%- endif -%}
    {%- set value = segments_feature_expression(name, data_type) -%}
    {%- if p['log'] -%}{%- set value = segments_signed_log1p(value) -%}{%- endif -%}
    {%- set value = 'coalesce(' ~ value ~ ', ' ~ segments_double_literal(p['impute']) ~ ')' -%}
    {%- do expressions.append('(' ~ value ~ ' - ' ~ segments_double_literal(p['center']) ~ ') / '
                              ~ segments_double_literal(p['scale'])) -%}
  {%- endfor -%}
  {%- for c in transform.get('categorical', []) -%}
    {%- set name = columns[c['name'] | lower][0] -%}
    {%- for level in c['levels'] -%}
      {%- do expressions.append('case when cast(' ~ segments_identifier(name) ~ ' as ' ~ dbt.type_string() ~ ') = '
                                ~ segments_string_literal(level) ~ ' then 1 else 0 end') -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(expressions) }}
{%- endmacro %}


{% macro segments_argmin_case(names) -%}
  {#- Index of the smallest of `names` (first one on a tie, like numpy's argmin). -#}
  {%- if names | length == 1 -%}{{ return('0') }}{%- endif -%}
  {%- set whens = [] -%}
  {%- for i in range(names | length - 1) -%}
    {%- set conds = [] -%}
    {%- for j in range(names | length) if j != i -%}
      {%- do conds.append(names[i] ~ (' <= ' if j > i else ' < ') ~ names[j]) -%}
    {%- endfor -%}
    {%- do whens.append('when ' ~ conds | join(' and ') ~ ' then ' ~ i) -%}
  {%- endfor -%}
  {{ return('case ' ~ whens | join(' ') ~ ' else ' ~ (names | length - 1) ~ ' end') }}
{%- endmacro %}


{% macro segments_by_label(label, values, otherwise='null') -%}
  {#- case label when 0 then values[0] ... end -#}
  {%- set whens = [] -%}
  {%- for v in values -%}{%- do whens.append('when ' ~ loop.index0 ~ ' then ' ~ v) -%}{%- endfor -%}
  {{ return('case ' ~ label ~ ' ' ~ whens | join(' ') ~ ' else ' ~ otherwise ~ ' end') }}
{%- endmacro %}


{% macro segments_cholesky(matrix) -%}
  {#- Lower Cholesky factor of a symmetric positive definite matrix (list of rows). -#}
  {%- set n = matrix | length -%}
  {%- set factor = [] -%}
  {%- for i in range(n) -%}
    {%- set row = [] -%}
    {%- for j in range(i + 1) -%}
      {%- set ns = namespace(s=0.0) -%}
      {%- set other = row if j == i else factor[j] -%}
      {%- for k in range(j) -%}{%- set ns.s = ns.s + row[k] * other[k] -%}{%- endfor -%}
      {%- if i == j -%}
        {%- set pivot = (matrix[i][i] | float) - ns.s -%}
        {%- if pivot <= 0 -%}
          {{ exceptions.raise_compiler_error("segments: a stored Gaussian mixture covariance is not positive definite") }}
        {%- endif -%}
        {%- do row.append(pivot ** 0.5) -%}
      {%- else -%}
        {%- do row.append(((matrix[i][j] | float) - ns.s) / factor[j][j]) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- do factor.append(row) -%}
  {%- endfor -%}
  {{ return(factor) }}
{%- endmacro %}


{% macro segments_lower_inverse(factor) -%}
  {#- Inverse of a lower-triangular matrix, row by row (entries j <= i). -#}
  {%- set inverse = [] -%}
  {%- for i in range(factor | length) -%}
    {%- set row = [] -%}
    {%- for j in range(i) -%}
      {%- set ns = namespace(s=0.0) -%}
      {%- for k in range(j, i) -%}{%- set ns.s = ns.s + factor[i][k] * inverse[k][j] -%}{%- endfor -%}
      {%- do row.append(-ns.s / factor[i][i]) -%}
    {%- endfor -%}
    {%- do row.append(1.0 / factor[i][i]) -%}
    {%- do inverse.append(row) -%}
  {%- endfor -%}
  {{ return(inverse) }}
{%- endmacro %}


{% macro segments_gmm_log_density(clusters, j, xs) -%}
  {#- Log of weight_j x N(x | mean_j, cov_j), as in segmentation.algorithms._gmm_log_resp. -#}
  {%- set eps = 1e-12 -%}
  {%- set mean = clusters['centroids'][j] -%}
  {%- set d = xs | length -%}
  {%- set diffs = [] -%}
  {%- for i in range(d) -%}
    {%- do diffs.append('(' ~ xs[i] ~ ' - ' ~ segments_double_literal(mean[i]) ~ ')') -%}
  {%- endfor -%}
  {%- set terms = [] -%}
  {%- set log_dets = [] -%}
  {%- if clusters.get('covariance_type', 'full') == 'diag' -%}
    {%- for i in range(d) -%}
      {%- set variance = [clusters['covariances'][j][i] | float, eps] | max -%}
      {%- do terms.append(diffs[i] ~ ' * ' ~ diffs[i] ~ ' / ' ~ segments_double_literal(variance)) -%}
      {%- do log_dets.append(segments_ln(segments_double_literal(variance))) -%}
    {%- endfor -%}
  {%- else -%}
    {%- set factor = segments_cholesky(clusters['covariances'][j]) -%}
    {%- set inverse = segments_lower_inverse(factor) -%}
    {%- for i in range(d) -%}
      {%- set products = [] -%}
      {%- for k in range(i + 1) -%}
        {%- do products.append(segments_double_literal(inverse[i][k]) ~ ' * ' ~ diffs[k]) -%}
      {%- endfor -%}
      {%- set y = '(' ~ products | join(' + ') ~ ')' -%}
      {%- do terms.append(y ~ ' * ' ~ y) -%}
      {%- do log_dets.append('2 * ' ~ segments_ln(segments_double_literal(factor[i][i]))) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set maha = '(' ~ (terms | join(' + ') if terms else '0') ~ ')' -%}
  {%- set log_det = '(' ~ (log_dets | join(' + ') if log_dets else '0') ~ ')' -%}
  {%- set log_2pi = segments_double_literal(1.8378770664093453) -%}
  {%- set weight = [clusters['weights'][j] | float, eps] | max -%}
  {{ return('-0.5 * (' ~ maha ~ ' + ' ~ log_det ~ ' + ' ~ d ~ ' * ' ~ log_2pi ~ ') + '
            ~ segments_ln(segments_double_literal(weight))) }}
{%- endmacro %}


{% macro segments_score_with_model(view, model, features_relation, columns, where, alias) -%}
  {#- The assignment rows of one stored model version (see the top of this file). -#}
  {%- set params = model['params'] -%}
  {%- set clusters = params['clusters'] -%}
  {%- set algorithm = clusters['algorithm'] -%}
  {%- set centroids = clusters['centroids'] -%}
  {%- set k = centroids | length -%}
  {%- set radii = clusters.get('radii') -%}
  {%- set ids = params['segment_ids'] -%}
  {%- set eps = segments_double_literal(1e-12) -%}
  {%- if ids | length != k -%}
    {{ exceptions.raise_compiler_error(
        "segments: view " ~ view ~ ", model version " ~ model['model_version'] ~ ": " ~ ids | length
        ~ " segment ids for " ~ k ~ " clusters in the stored parameters") }}
  {%- endif -%}
  {%- set xs_sql = segments_transform_columns(params['transform'], features_relation, columns) -%}
  {%- set xs = [] -%}
  {%- for i in range(xs_sql | length) -%}{%- do xs.append('x_' ~ i) -%}{%- endfor -%}
  {%- set trivial = k == 1 and radii is none -%}

  {#- label (cluster index, -1 = outlier) and raw confidence per algorithm -#}
  {%- set d_names = [] -%}
  {%- for j in range(k) -%}{%- do d_names.append('d_' ~ j) -%}{%- endfor -%}
  {%- set stage_columns = [] -%}
  {%- if not trivial and algorithm == 'gmm' -%}
    {%- for j in range(k) -%}
      {%- do stage_columns.append(segments_gmm_log_density(clusters, j, xs) ~ ' as d_' ~ j) -%}
    {%- endfor -%}
  {%- elif not trivial -%}
    {%- for j in range(k) -%}
      {%- set squares = [] -%}
      {%- for i in range(xs | length) -%}
        {%- set diff = '(' ~ xs[i] ~ ' - ' ~ segments_double_literal(centroids[j][i]) ~ ')' -%}
        {%- do squares.append(diff ~ ' * ' ~ diff) -%}
      {%- endfor -%}
      {%- do stage_columns.append('sqrt(' ~ (squares | join(' + ') if squares else '0') ~ ') as d_' ~ j) -%}
    {%- endfor -%}
  {%- endif -%}

  {%- set segment_whens = [] -%}
  {%- for j in range(k) -%}
    {%- do segment_whens.append('when ' ~ j ~ ' then ' ~ (ids[j] | int)) -%}
  {%- endfor -%}
  {%- set name_whens = [] -%}
  {%- for seg in ids + ([0] if radii is not none else []) -%}
    {%- do name_whens.append('when ' ~ (seg | int) ~ ' then ' ~ segments_string_literal(segments_segment_name(params, seg | int))) -%}
  {%- endfor -%}

  {%- set sql -%}
select
    customer_id,
    cast(as_of_date as date) as as_of_date,
    cast({{ segments_string_literal(view) }} as {{ dbt.type_string() }}) as view,
    cast(segment_id as {{ dbt.type_bigint() }}) as segment_id,
    cast(case segment_id {{ name_whens | join(' ') }} end as {{ dbt.type_string() }}) as segment_name,
    {{ segments_round_double('confidence', 6) }} as confidence,
    cast({{ model['model_version'] }} as {{ dbt.type_bigint() }}) as model_version
from (
    select
        customer_id,
        as_of_date,
        case label when -1 then 0 {{ segment_whens | join(' ') }} end as segment_id,
        {{ segments_greatest(['0', segments_least(['1', 'raw_confidence'])]) }} as confidence
    from (
  {%- if trivial %}
        select customer_id, as_of_date, 0 as label, 1 as raw_confidence
        from {{ features_relation }}
        {%- if where %}
        where {{ where }}
        {%- endif %}
  {%- else %}
        select
            customer_id,
            as_of_date,
    {%- if algorithm == 'gmm' %}
            label,
            {{ segments_exp('lp_best - (lp_top + ' ~ segments_ln('lp_total') ~ ')') }} as raw_confidence
        from (
            select
                customer_id,
                as_of_date,
                label,
                {{ segments_by_label('label', d_names) }} as lp_best,
                lp_top,
                {%- set exps = [] -%}
                {%- for name in d_names -%}{%- do exps.append(segments_exp(name ~ ' - lp_top')) -%}{%- endfor %}
                {{ exps | join(' + ') }} as lp_total
            from (
                select
                    {{ d_names | join(', ') }},
                    customer_id,
                    as_of_date,
                    {%- set negated = [] -%}
                    {%- for name in d_names -%}{%- do negated.append('-' ~ name) -%}{%- endfor %}
                    {{ segments_argmin_case(negated) }} as label,
                    {{ segments_greatest(d_names) }} as lp_top
    {%- else %}
            case when {{ 'd_min > radius' if radii is not none else '1 = 0' }} then -1 else label end as label,
            case
                {%- if radii is not none %}
                when d_min > radius then 1 - radius / {{ segments_greatest(['d_min', eps]) }}
                {%- endif %}
                {%- if k == 1 %}
                else 1
                {%- else %}
                when d_second > {{ eps }} then 1 - d_min / {{ segments_greatest(['d_second', eps]) }}
                else 1
                {%- endif %}
            end as raw_confidence
        from (
            select
                customer_id,
                as_of_date,
                label,
                d_min,
                {%- if k > 1 %}
                {%- set others = [] -%}
                {%- for j in range(k) -%}
                  {%- set rest = [] -%}
                  {%- for i in range(k) if i != j -%}{%- do rest.append(d_names[i]) -%}{%- endfor -%}
                  {%- do others.append(segments_least(rest)) -%}
                {%- endfor %}
                {{ segments_by_label('label', others) }} as d_second,
                {%- endif %}
                {%- if radii is not none %}
                {%- set radius_values = [] -%}
                {%- for r in radii -%}{%- do radius_values.append(segments_double_literal(r)) -%}{%- endfor %}
                {{ segments_by_label('label', radius_values) }} as radius,
                {%- endif %}
                1 as unused
            from (
                select
                    {{ d_names | join(', ') }},
                    customer_id,
                    as_of_date,
                    {{ segments_argmin_case(d_names) }} as label,
                    {{ segments_least(d_names) }} as d_min
    {%- endif %}
                from (
                    select
                        customer_id,
                        as_of_date,
                        {{ stage_columns | join(',\n                        ') }}
                    from (
                        select
                            customer_id,
                            as_of_date
                            {%- for expression in xs_sql %},
                            {{ expression }} as x_{{ loop.index0 }}
                            {%- endfor %}
                        from {{ features_relation }}
                        {%- if where %}
                        where {{ where }}
                        {%- endif %}
                    ) as {{ alias }}_points
                ) as {{ alias }}_distances
            ) as {{ alias }}_nearest
        ) as {{ alias }}_second
  {%- endif %}
    ) as {{ alias }}_labels
) as {{ alias }}_assigned
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{% macro segments_print_scoring_sql(histories, view='value', features='customer_features') -%}
  {#-
    Operation: print the scoring SQL generated for each model history table named in
    `histories` (tables in the schema of customer_features), between marker lines, without running
    it. For inspecting what a stored model compiles to, and for the tests that check
    every algorithm against the Python scorer:
      dbt run-operation segments_print_scoring_sql --args '{histories: [segments__model_value]}'
  -#}
  {%- set features_relation = ref('segments', features) -%}
  {%- for name in histories -%}
    {%- set relation = api.Relation.create(database=features_relation.database, schema=features_relation.schema, identifier=name) -%}
    {%- do print('-- segments-scoring-sql-begin ' ~ name) -%}
    {%- do print(segments_score_assignments(view, relation, features_relation)) -%}
    {%- do print('-- segments-scoring-sql-end ' ~ name) -%}
  {%- endfor -%}
{%- endmacro %}
