{#-
  segments__profiles_<view> in SQL, for views scored in SQL: per as_of_date and segment
  the size, share, average confidence, feature means (own units), z-scores and the
  five most distinctive features, as segmentation.profiles.ProfileAccumulator and
  segmentation.dbt_entry.build_profiles compute them in Python:

    mean     average of the feature over the segment's customers that have it;
    z-score  (segment mean - population mean) / population standard deviation on the
             scale the clustering sees (sign(x) * ln(1 + |x|) for logged features);
             0 where the population does not vary;
    top      the five largest |z-score|, rounded to 3 decimals, largest first.

  Means and z-scores are JSON objects with sorted keys; categorical features appear
  as `name=level` shares. JSON is assembled with string concatenation, so it works
  on every warehouse without JSON functions.
-#}

{% macro segments_segment_profiles(view, assignments_relation, history_relation, features_relation) -%}
  {%- if not execute -%}
    {{ return(segments_empty_profiles()) }}
  {%- endif -%}
  {%- set models = segments_stored_models(history_relation, view) -%}
  {%- set versions_query -%}
    select distinct cast(model_version as {{ dbt.type_bigint() }}) from {{ assignments_relation }}
  {%- endset -%}
  {%- set used = [] -%}
  {%- for row in run_query(versions_query).rows if row[0] is not none -%}
    {%- do used.append(row[0] | int) -%}
  {%- endfor -%}
  {%- set columns = segments_relation_columns(features_relation) -%}
  {%- set parts = [] -%}
  {%- for model in models if model['model_version'] in used -%}
    {%- do parts.append(segments_profiles_for_model(view, model, assignments_relation, features_relation, columns)) -%}
  {%- endfor -%}
  {%- if not parts -%}
    {{ return(segments_empty_profiles()) }}
  {%- endif -%}
  {{ return(parts | join('\nunion all\n')) }}
{%- endmacro %}


{% macro segments_empty_profiles() -%}
  {%- set text = dbt.type_string() -%}
  {%- set sql -%}
select
    cast(null as {{ text }}) as view,
    cast(null as date) as as_of_date,
    cast(null as {{ dbt.type_bigint() }}) as segment_id,
    cast(null as {{ text }}) as segment_name,
    cast(null as {{ dbt.type_bigint() }}) as model_version,
    cast(null as {{ dbt.type_bigint() }}) as size,
    cast(null as {{ segments_type_double() }}) as share,
    cast(null as {{ segments_type_double() }}) as avg_confidence,
    cast(null as {{ text }}) as feature_means,
    cast(null as {{ text }}) as feature_z_scores,
    cast(null as {{ text }}) as top_features
from (select 1 as one) as empty_profiles
where 1 = 0
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{% macro segments_json_number(expression) -%}
  {#- A number as JSON text: null when missing. -#}
  {{ return("coalesce(cast(" ~ expression ~ " as " ~ dbt.type_string() ~ "), 'null')") }}
{%- endmacro %}


{% macro segments_json_object(pairs) -%}
  {#- '{"k1": v1, "k2": v2}' from [(key, SQL text expression)], keys in the given order. -#}
  {%- set pieces = ["'{'"] -%}
  {%- for key, value in pairs -%}
    {%- do pieces.append(segments_string_literal(('' if loop.first else ', ') ~ segments_json_string(key) ~ ': ')) -%}
    {%- do pieces.append(value) -%}
  {%- endfor -%}
  {%- do pieces.append("'}'") -%}
  {{ return(dbt.concat(pieces)) }}
{%- endmacro %}


{% macro segments_profiles_for_model(view, model, assignments_relation, features_relation, columns) -%}
  {%- set params = model['params'] -%}
  {%- set transform = params['transform'] -%}
  {%- set version = model['model_version'] -%}
  {%- set alias = 'p' ~ version -%}
  {%- set double = segments_type_double() -%}
  {%- set text = dbt.type_string() -%}
  {#- feature columns: (output name, value expression, z-basis expression) -#}
  {%- set features = [] -%}
  {%- for p in transform.get('numeric', []) -%}
    {%- if p['name'] | lower not in columns -%}
      {{ exceptions.raise_compiler_error("segments: " ~ features_relation ~ " lacks column " ~ p['name'] ~ " used by model version " ~ version ~ " of view " ~ view) }}
    {%- endif -%}
    {%- set name, data_type = columns[p['name'] | lower] -%}
    {%- set value = segments_feature_expression(name, data_type) -%}
    {%- do features.append((p['name'], value, segments_signed_log1p(value) if p['log'] else value)) -%}
  {%- endfor -%}
  {%- for c in transform.get('categorical', []) -%}
    {%- set name = columns[c['name'] | lower][0] -%}
    {%- for level in c['levels'] -%}
      {%- set value = 'case when cast(' ~ segments_identifier(name) ~ ' as ' ~ text ~ ') = ' ~ segments_string_literal(level) ~ ' then 1 else 0 end' -%}
      {%- do features.append((c['name'] ~ '=' ~ level, value, value)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- set eps = segments_double_literal(1e-12) -%}
  {%- set sorted_keys = features | map(attribute=0) | sort(case_sensitive=true) -%}
  {%- set index_of = {} -%}
  {%- for f in features -%}{%- do index_of.update({f[0]: loop.index0}) -%}{%- endfor -%}

  {%- set mean_pairs = [] -%}
  {%- set z_pairs = [] -%}
  {%- for key in sorted_keys -%}
    {%- do mean_pairs.append((key, segments_json_number('mean_' ~ index_of[key]))) -%}
    {%- do z_pairs.append((key, segments_json_number('z_' ~ index_of[key]))) -%}
  {%- endfor -%}

  {%- set top_pieces = ["'{'", "coalesce(top.top_1, '')"] -%}
  {%- for r in range(2, 6) -%}
    {%- do top_pieces.append("case when top.top_" ~ r ~ " is null then '' else " ~ dbt.concat(["', '", "top.top_" ~ r]) ~ " end") -%}
  {%- endfor -%}
  {%- do top_pieces.append("'}'") -%}

  {%- set sql -%}
select * from (
with {{ alias }}_rows as (
    select
        cast(assigned.as_of_date as date) as as_of_date,
        assigned.segment_id,
        assigned.segment_name,
        cast(assigned.confidence as {{ double }}) as confidence
        {%- for f in features %},
        features_row.f_{{ loop.index0 }},
        features_row.b_{{ loop.index0 }}
        {%- endfor %}
    from {{ assignments_relation }} as assigned
    inner join (
        select
            customer_id,
            as_of_date
            {%- for f in features %},
            {{ f[1] }} as f_{{ loop.index0 }},
            {{ f[2] }} as b_{{ loop.index0 }}
            {%- endfor %}
        from {{ features_relation }}
    ) as features_row
        on features_row.customer_id = assigned.customer_id
        and cast(features_row.as_of_date as date) = cast(assigned.as_of_date as date)
    where assigned.model_version = {{ version }}
),

{{ alias }}_segments as (
    select
        as_of_date,
        segment_id,
        max(segment_name) as segment_name,
        count(*) as size,
        avg(confidence) as avg_confidence
        {%- for f in features %},
        avg(f_{{ loop.index0 }}) as mean_{{ loop.index0 }},
        avg(b_{{ loop.index0 }}) as zmean_{{ loop.index0 }}
        {%- endfor %}
    from {{ alias }}_rows
    group by as_of_date, segment_id
),

{{ alias }}_population as (
    select
        as_of_date,
        count(*) as total
        {%- for f in features %},
        avg(b_{{ loop.index0 }}) as pmean_{{ loop.index0 }},
        sqrt({{ segments_greatest(['avg(b_' ~ loop.index0 ~ ' * b_' ~ loop.index0 ~ ') - avg(b_' ~ loop.index0 ~ ') * avg(b_' ~ loop.index0 ~ ')', '0']) }}) as pstd_{{ loop.index0 }}
        {%- endfor %}
    from {{ alias }}_rows
    group by as_of_date
),

{{ alias }}_scored as (
    select
        seg.as_of_date,
        seg.segment_id,
        seg.segment_name,
        seg.size,
        cast(seg.size as {{ double }}) / pop.total as share,
        seg.avg_confidence
        {%- for f in features %},
        seg.mean_{{ loop.index0 }},
        case
            when pop.pstd_{{ loop.index0 }} > {{ eps }}
                then (seg.zmean_{{ loop.index0 }} - pop.pmean_{{ loop.index0 }}) / pop.pstd_{{ loop.index0 }}
            else 0
        end as z_{{ loop.index0 }}
        {%- endfor %}
    from {{ alias }}_segments as seg
    inner join {{ alias }}_population as pop
        on pop.as_of_date = seg.as_of_date
),

{{ alias }}_ranked as (
    select
        as_of_date,
        segment_id,
        feature,
        z,
        row_number() over (
            partition by as_of_date, segment_id
            order by abs(z) desc, feature_position
        ) as rank_in_segment
    from (
        {%- for f in features %}
        select
            as_of_date,
            segment_id,
            cast({{ segments_string_literal(segments_json_string(f[0])) }} as {{ text }}) as feature,
            {{ loop.index0 }} as feature_position,
            z_{{ loop.index0 }} as z
        from {{ alias }}_scored
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
        {%- if not features %}
        select as_of_date, segment_id, cast(null as {{ text }}) as feature, 0 as feature_position, cast(null as {{ double }}) as z
        from {{ alias }}_scored
        {%- endif %}
    ) as unpivoted
    where z is not null
),

{{ alias }}_top as (
    select
        as_of_date,
        segment_id
        {%- for rank in range(1, 6) %},
        max(case when rank_in_segment = {{ rank }} then
            {{ dbt.concat(['feature', "': '", "cast(" ~ segments_round_double('z', 3) ~ " as " ~ text ~ ")"]) }}
        end) as top_{{ rank }}
        {%- endfor %}
    from {{ alias }}_ranked
    where rank_in_segment <= 5
    group by as_of_date, segment_id
)

select
    cast({{ segments_string_literal(view) }} as {{ text }}) as view,
    scored.as_of_date,
    cast(scored.segment_id as {{ dbt.type_bigint() }}) as segment_id,
    cast(scored.segment_name as {{ text }}) as segment_name,
    cast({{ version }} as {{ dbt.type_bigint() }}) as model_version,
    cast(scored.size as {{ dbt.type_bigint() }}) as size,
    cast(scored.share as {{ double }}) as share,
    cast(scored.avg_confidence as {{ double }}) as avg_confidence,
    cast({{ segments_json_object(mean_pairs) }} as {{ text }}) as feature_means,
    cast({{ segments_json_object(z_pairs) }} as {{ text }}) as feature_z_scores,
    cast({{ dbt.concat(top_pieces) }} as {{ text }}) as top_features
from {{ alias }}_scored as scored
left join {{ alias }}_top as top
    on top.as_of_date = scored.as_of_date
    and top.segment_id = scored.segment_id
) as {{ alias }}_profiles
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}
