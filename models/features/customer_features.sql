{#-
  One wide row per customer in scope: RFM, product affinity, channel and
  engagement features, plus the customer's email for the CRM. The column set
  follows the feature models, so it adapts to the inputs present.
-#}
{%- set parts = [
    ('affinity', ref('segments', 'customer_product_affinity')),
    ('channels', ref('segments', 'customer_channel_features')),
] -%}
{%- set skip = ['customer_id', 'as_of_date'] -%}

with latest_customers as (

    select customer_id, email
    from (
        select
            customer_id,
            email,
            row_number() over (partition by customer_id order by created_at desc, email) as occurrence
        from {{ ref('segments', 'stg_segments__customers') }}
        where customer_id is not null
    ) as ranked
    where occurrence = 1

)

select
    rfm.customer_id,
    rfm.as_of_date,
    latest_customers.email,
    rfm.first_order_at,
    rfm.last_order_at,
    rfm.recency_days,
    rfm.frequency,
    rfm.monetary_total,
    rfm.avg_order_value,
    rfm.tenure_days,
    rfm.r_score,
    rfm.f_score,
    rfm.m_score,
    rfm.rfm_cell,
    rfm.rfm_segment
    {%- if execute %}
    {%- for alias, relation in parts %}
    {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower not in skip %},
    {{ alias }}.{{ column.quoted }}
    {%- endfor %}
    {%- endfor %}
    {%- endif %}
from {{ ref('segments', 'customer_rfm') }} as rfm
left join latest_customers
    on {{ segments_keys_match('customer_id', ref('segments', 'customer_rfm'), 'rfm', ref('segments', 'stg_segments__customers'), 'latest_customers') }}
{%- for alias, relation in parts %}
left join {{ relation }} as {{ alias }}
    on rfm.customer_id = {{ alias }}.customer_id
{%- endfor %}
