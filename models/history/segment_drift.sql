{#-
  How far today's customers have moved from those a view's model was trained on:
  one row per as_of_date, view and measure - each feature the model uses, and the
  segment shares - with the population stability index

      PSI = sum over bins of (now - then) * ln(now / then)

  over the bins of segment_drift_reference (deciles of the training distribution,
  text levels, or segments), shares floored at 0.0001 so an empty bin stays finite.
  Rules of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a real shift. is_drifted
  compares with var segments_drift_psi_threshold (default 0.25, the segmentation's
  default drift_threshold). segment_drift_status sums this up per view.

  Each run replaces the rows of its own as_of_date, so the table is the drift
  history of a backfill. Past dates cannot be recomputed (they need that date's
  features), so --full-refresh is ignored unless var
  segments_history_allow_full_refresh is true.
-#}
{{ config(
    full_refresh=var('segments_history_allow_full_refresh', false),
    **segments_replace_date_config('as_of_date'),
) }}

{%- set n_bins = var('segments_drift_bins', 10) | int -%}
{%- set threshold = var('segments_drift_psi_threshold', 0.25) -%}
{%- set floor = 0.0001 -%}
{%- set features_relation = ref('segments', 'customer_features') -%}
{%- set assignments_relation = ref('segments', 'segment_assignments') -%}
{%- set reference_relation = ref('segments', 'segment_drift_reference') -%}
{%- set run_date_sql = segments_as_of_date() -%}
{%- set double = segments_type_double() -%}

{#- The measures of each model version scoring today, as captured in the reference. -#}
{%- set measures = [] -%}
{%- if execute -%}
    {%- set present = segments_relation_columns(features_relation) -%}
    {%- set measures_sql -%}
        select
            reference.view, reference.model_version, reference.measure_type, reference.measure,
            max(reference.binning),
            max(case when reference.reference_as_of_date = {{ run_date_sql }} then 1 else 0 end)
        from {{ reference_relation }} as reference
        inner join ({{ segments_drift_versions_in_use() }}) as used
            on used.view = reference.view
            and used.model_version = reference.model_version
        group by 1, 2, 3, 4
        order by 1, 2, 3, 4
    {%- endset -%}
    {%- for row in run_query(measures_sql) -%}
        {%- if row[2] == 'feature' and (row[3] | lower) not in present -%}
            {{ log("segments: drift of view " ~ row[0] ~ ": feature " ~ row[3] ~ " is no longer in customer_features, left out", info=true) }}
        {%- else -%}
            {%- do measures.append({'view': row[0], 'model_version': row[1], 'measure_type': row[2], 'measure': row[3],
                                    'binning': row[4], 'captured_today': row[5] == 1}) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}

with run_date as (

    select as_of_date from {{ ref('segments', 'int_segments__as_of_date') }}

),

current_counts as (

    {%- for m in measures %}
    {%- set reference_filter -%}
        view = {{ segments_string_literal(m.view) }} and model_version = {{ m.model_version }} and measure = {{ segments_string_literal(m.measure) }}
    {%- endset %}
    select
        {{ segments_string_literal(m.view) }} as view,
        cast({{ m.model_version }} as {{ dbt.type_int() }}) as model_version,
        {{ segments_string_literal(m.measure_type) }} as measure_type,
        {{ segments_string_literal(m.measure) }} as measure,
        bin,
        {%- if m.captured_today %}
        {#- the reference was captured from these very customers: reuse its counts, do not bin again -#}
        customers
    from {{ reference_relation }}
    where {{ reference_filter }} and customers > 0
    {%- else %}
        count(*) as customers
    from (
        {%- if m.binning == 'segments' %}
        select cast(segment_id as {{ dbt.type_int() }}) as bin
        from {{ assignments_relation }}
        where as_of_date = {{ run_date_sql }}
            and view = {{ segments_string_literal(m.view) }}
        {%- elif m.binning == 'levels' %}
        select
            case
                when features.{{ m.measure }} is null then -1
                else coalesce(levels.bin, 0)
            end as bin
        from {{ features_relation }} as features
        left join (
            select bin, bin_label
            from {{ reference_relation }}
            where {{ reference_filter }} and bin > 0
        ) as levels
            on cast(features.{{ m.measure }} as {{ dbt.type_string() }}) = levels.bin_label
        {%- else %}
        select
            case
                when features.{{ m.measure }} is null then -1
                else 0
                {%- for i in range(1, n_bins) %}
                    + case when cast(features.{{ m.measure }} as {{ double }}) >= edges.e{{ i }} then 1 else 0 end
                {%- endfor %}
            end as bin
        from {{ features_relation }} as features
        cross join (
            select
                {%- for i in range(1, n_bins) %}
                max(case when bin = {{ i }} then lower_edge end) as e{{ i }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ reference_relation }}
            where {{ reference_filter }}
        ) as edges
        {%- endif %}
    ) as binned
    group by bin
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

    {%- if measures | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as view,
        cast(null as {{ dbt.type_int() }}) as model_version,
        cast(null as {{ dbt.type_string() }}) as measure_type,
        cast(null as {{ dbt.type_string() }}) as measure,
        cast(null as {{ dbt.type_int() }}) as bin,
        cast(0 as {{ dbt.type_bigint() }}) as customers
    from run_date
    where 1 = 0
    {%- endif %}

),

current_shares as (

    select
        current_counts.*,
        {{ segments_safe_divide('customers', 'sum(customers) over (partition by view, measure_type, measure)') }} as share
    from current_counts

),

reference as (

    select reference.*
    from {{ reference_relation }} as reference
    inner join (select distinct view, model_version, measure_type, measure from current_counts) as measured
        on measured.view = reference.view
        and measured.model_version = reference.model_version
        and measured.measure_type = reference.measure_type
        and measured.measure = reference.measure

),

bins as (

    select
        coalesce(reference.view, current_shares.view) as view,
        coalesce(reference.model_version, current_shares.model_version) as model_version,
        coalesce(reference.measure_type, current_shares.measure_type) as measure_type,
        coalesce(reference.measure, current_shares.measure) as measure,
        greatest(coalesce(reference.share, 0), {{ floor }}) as share_then,
        greatest(coalesce(current_shares.share, 0), {{ floor }}) as share_now,
        coalesce(reference.customers, 0) as customers_then,
        coalesce(current_shares.customers, 0) as customers_now
    from reference
    full outer join current_shares
        on current_shares.view = reference.view
        and current_shares.model_version = reference.model_version
        and current_shares.measure_type = reference.measure_type
        and current_shares.measure = reference.measure
        and current_shares.bin = reference.bin

),

versions as (

    select distinct view, model_version, training_as_of_date, reference_as_of_date
    from reference

)

select
    run_date.as_of_date,
    bins.view,
    bins.model_version,
    versions.training_as_of_date,
    versions.reference_as_of_date,
    bins.measure_type,
    bins.measure,
    cast(sum((bins.share_now - bins.share_then) * ln(bins.share_now / bins.share_then)) as {{ double }}) as psi,
    cast({{ threshold }} as {{ double }}) as psi_threshold,
    sum((bins.share_now - bins.share_then) * ln(bins.share_now / bins.share_then)) > {{ threshold }} as is_drifted,
    cast(sum(bins.customers_then) as {{ dbt.type_bigint() }}) as customers_then,
    cast(sum(bins.customers_now) as {{ dbt.type_bigint() }}) as customers_now
from bins
inner join versions
    on versions.view = bins.view
    and versions.model_version = bins.model_version
cross join run_date
group by 1, 2, 3, 4, 5, 6, 7
