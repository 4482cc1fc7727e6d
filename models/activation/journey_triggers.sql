{#-
  Journey enrolments: one row per customer, journey and date on which a rule of
  the segments__journey_rules seed matched one of the customer's segment migrations.

  - trigger_id is the md5 of customer_id|journey|triggered_on, so the same
    trigger always gets the same id, here and in the CRM.
  - is_control is a hash of customer_id|journey (not the date): a customer is
    either always or never in a journey's control group, and about control_pct %
    of customers are.
  - Cool-down: a customer gets a journey again only cooldown_days after the last
    time they got it (control rows count: they were enrolled, just not contacted).
  - Incremental, append only. A run looks at its own as_of_date and adds a trigger
    only when no existing trigger of that customer and journey lies within the
    cool-down on either side of it (which also makes a re-run of a date a no-op).
    Existing triggers are never changed: they may already be in the CRM.
    A first build or --full-refresh walks the whole history in date order.
-#}
{{ config(materialized='incremental', incremental_strategy='append') }}

{%- set hex_digits = '0123456789abcdef' -%}
{%- set bucket_hex_chars = 7 -%}

{#- Recursion is only needed (and only emitted) when walking the whole history. -#}
with {% if not is_incremental() %}recursive {% endif %}run_date as (

    select as_of_date from {{ ref('segments', 'int_segments__as_of_date') }}

),

rules as (

    select
        trim(journey) as journey,
        lower(trim(trigger_type)) as trigger_type,
        case
            when lower(trim(trigger_type)) = 'rfm_change' then 'rfm'
            else lower(trim(view))
        end as view,
        {#- blank or * means any segment -#}
        case when trim(coalesce(from_segment, '')) in ('', '*') then null else lower(trim(from_segment)) end as from_pattern,
        case when trim(coalesce(to_segment, '')) in ('', '*') then null else lower(trim(to_segment)) end as to_pattern
    from {{ ref('segments', 'segments__journey_rules') }}

),

journey_settings as (

    select
        trim(journey) as journey,
        max(coalesce(cooldown_days, 0)) as cooldown_days,
        max(coalesce(control_pct, 0)) as control_pct
    from {{ ref('segments', 'segments__journey_rules') }}
    group by 1

),

migrations as (

    select *
    from {{ ref('segments', 'segment_migrations') }}
    {%- if is_incremental() %}
    where to_date = (select as_of_date from run_date)
    {%- endif %}

),

{#-
  A pattern matches a segment by id (the pattern is the id as text) or by name,
  case-insensitive, with * as a wildcard. A null pattern matches any segment.
-#}
matched as (

    select
        migrations.customer_id,
        rules.journey,
        migrations.to_date as triggered_on,
        rules.trigger_type,
        migrations.view,
        migrations.from_segment_id,
        migrations.from_segment_name,
        migrations.to_segment_id,
        migrations.to_segment_name,
        row_number() over (
            partition by migrations.customer_id, rules.journey, migrations.to_date
            order by migrations.view, rules.trigger_type, migrations.from_segment_name, migrations.to_segment_name
        ) as match_rank
    from migrations
    inner join rules
        on migrations.view = rules.view
    where
        (
            rules.from_pattern is null
            or (
                migrations.from_segment_id is not null
                and (
                    cast(migrations.from_segment_id as {{ dbt.type_string() }}) = rules.from_pattern
                    or lower(migrations.from_segment_name) like replace(rules.from_pattern, '*', '%')
                )
            )
        )
        and (
            rules.to_pattern is null
            or (
                migrations.to_segment_id is not null
                and (
                    cast(migrations.to_segment_id as {{ dbt.type_string() }}) = rules.to_pattern
                    or lower(migrations.to_segment_name) like replace(rules.to_pattern, '*', '%')
                )
            )
        )
        and (
            (rules.trigger_type = 'enter_segment' and migrations.to_segment_id is not null)
            or (rules.trigger_type = 'leave_segment' and migrations.from_segment_id is not null)
            or (rules.trigger_type in ('move', 'rfm_change')
                and migrations.from_segment_id is not null and migrations.to_segment_id is not null)
        )

),

candidates as (

    select
        matched.*,
        journey_settings.cooldown_days,
        journey_settings.control_pct,
        {{ dbt.hash(dbt.concat([
            'cast(matched.customer_id as ' ~ dbt.type_string() ~ ')', "'|'",
            'matched.journey', "'|'",
            'cast(matched.triggered_on as ' ~ dbt.type_string() ~ ')'])) }} as trigger_id,
        {{ dbt.hash(dbt.concat([
            'cast(matched.customer_id as ' ~ dbt.type_string() ~ ')', "'|'", 'matched.journey'])) }} as control_hash
    from matched
    inner join journey_settings
        on matched.journey = journey_settings.journey
    where matched.match_rank = 1

),

{%- if is_incremental() %}

existing as (

    select customer_id, journey, triggered_on, trigger_id
    from {{ this }}

),

blocked as (

    select distinct candidates.trigger_id
    from candidates
    inner join existing
        on candidates.customer_id = existing.customer_id
        and candidates.journey = existing.journey
    where candidates.trigger_id = existing.trigger_id
        or (
            {{ segments_days_between('existing.triggered_on', 'candidates.triggered_on') }} < candidates.cooldown_days
            and {{ segments_days_between('candidates.triggered_on', 'existing.triggered_on') }} < candidates.cooldown_days
        )

),

fired as (

    select candidates.*
    from candidates
    left join blocked
        on candidates.trigger_id = blocked.trigger_id
    where blocked.trigger_id is null

),

{%- else %}

{#-
  Walk each customer's candidates of a journey in date order: a candidate fires
  when it is at least cooldown_days after the last one that fired.
-#}
numbered as (

    select
        candidates.*,
        row_number() over (partition by customer_id, journey order by triggered_on) as position
    from candidates

),

walk (customer_id, journey, position, triggered_on, last_fired_on, fires) as (

    select customer_id, journey, position, triggered_on, triggered_on, true
    from numbered
    where position = 1

    union all

    select
        numbered.customer_id,
        numbered.journey,
        numbered.position,
        numbered.triggered_on,
        case
            when {{ segments_days_between('walk.last_fired_on', 'numbered.triggered_on') }} >= numbered.cooldown_days
                then numbered.triggered_on
            else walk.last_fired_on
        end,
        {{ segments_days_between('walk.last_fired_on', 'numbered.triggered_on') }} >= numbered.cooldown_days
    from walk
    inner join numbered
        on numbered.customer_id = walk.customer_id
        and numbered.journey = walk.journey
        and numbered.position = walk.position + 1

),

fired as (

    select numbered.*
    from numbered
    inner join walk
        on numbered.customer_id = walk.customer_id
        and numbered.journey = walk.journey
        and numbered.position = walk.position
    where walk.fires

),

{%- endif %}

{#- The first hex digits of the hash as an integer, mod 100: a uniform bucket 0-99. -#}
bucketed as (

    select
        fired.*,
        mod(
            {%- for i in range(bucket_hex_chars) %}
            ({{ dbt.position('substring(fired.control_hash, ' ~ (i + 1) ~ ', 1)', "'" ~ hex_digits ~ "'") }} - 1)
                * {{ 16 ** (bucket_hex_chars - 1 - i) }}{{ ' +' if not loop.last }}
            {%- endfor %},
            100
        ) as control_bucket
    from fired

)

select
    bucketed.trigger_id,
    bucketed.customer_id,
    features.email,
    bucketed.journey,
    cast(bucketed.triggered_on as date) as triggered_on,
    {{ dbt.concat([
        'bucketed.trigger_type', "' on '", 'bucketed.view', "': '",
        "coalesce(bucketed.from_segment_name, '(new customer)')", "' -> '",
        "coalesce(bucketed.to_segment_name, '(out of scope)')"]) }} as reason,
    bucketed.control_bucket < bucketed.control_pct as is_control,
    bucketed.trigger_type,
    bucketed.view,
    bucketed.from_segment_id,
    bucketed.from_segment_name,
    bucketed.to_segment_id,
    bucketed.to_segment_name,
    cast(bucketed.control_bucket as {{ dbt.type_int() }}) as control_bucket
from bucketed
left join {{ ref('segments', 'customer_features') }} as features
    on bucketed.customer_id = features.customer_id
