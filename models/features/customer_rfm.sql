{#-
  Recency, frequency and monetary value per customer in scope on as_of_date,
  with 1-5 scores and the named cell of the RFM grid (seed segments__rfm_segment_grid).
-#}
with per_customer as (

    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as frequency,
        sum(order_revenue) as monetary_total
    from {{ ref('segments', 'int_segments__orders') }}
    group by customer_id

),

measured as (

    select
        per_customer.customer_id,
        as_of.as_of_date,
        per_customer.first_order_at,
        per_customer.last_order_at,
        {{ segments_days_between('per_customer.last_order_at', 'as_of.as_of_date') }} as recency_days,
        cast(per_customer.frequency as {{ dbt.type_int() }}) as frequency,
        per_customer.monetary_total,
        {{ segments_safe_divide('per_customer.monetary_total', 'per_customer.frequency') }} as avg_order_value,
        {{ segments_days_between('per_customer.first_order_at', 'as_of.as_of_date') }} as tenure_days
    from per_customer
    cross join {{ ref('segments', 'int_segments__as_of_date') }} as as_of

),

scored as (

    select
        *,
        {{ segments_quintile_score('recency_days desc') }} as r_score,
        {{ segments_quintile_score('frequency') }} as f_score,
        {{ segments_quintile_score('monetary_total') }} as m_score
    from measured

)

select
    scored.customer_id,
    scored.as_of_date,
    scored.first_order_at,
    scored.last_order_at,
    scored.recency_days,
    scored.frequency,
    scored.monetary_total,
    scored.avg_order_value,
    scored.tenure_days,
    scored.r_score,
    scored.f_score,
    scored.m_score,
    {{ dbt.concat(['cast(scored.r_score as ' ~ dbt.type_string() ~ ')',
                   'cast(scored.f_score as ' ~ dbt.type_string() ~ ')',
                   'cast(scored.m_score as ' ~ dbt.type_string() ~ ')']) }} as rfm_cell,
    grid.rfm_segment
from scored
left join {{ ref('segments', 'segments__rfm_segment_grid') }} as grid
    on scored.r_score = grid.r_score
    and scored.f_score = grid.f_score
    and scored.m_score = grid.m_score
