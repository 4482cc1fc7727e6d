{#-
  Product-affinity features per customer: revenue share of each of the top
  categories (beyond var segments_max_categories, the rest pooled as cat_share__other), breadth, concentration (Herfindahl
  index of the category shares) and the share of gross spend given as discount.
  Without product data only discount_share is filled and no share columns exist.
-#}
{%- set source_relation = ref('segments', 'int_segments__customer_category_revenue') -%}
{%- set max_categories = var('segments_max_categories', 12) -%}
{%- set fixed = var('segments_categories', none) -%}
{%- set categories = fixed if fixed else segments_top_values(source_relation, 'category', 'revenue')[:max_categories + 1] -%}
{%- set pool_other = fixed or categories | length > max_categories -%}
{%- set pivot = segments_pivot_columns(categories if fixed else categories[:max_categories], 'cat_share__', ['other'] if pool_other else []) -%}

with totals as (

    select
        customer_id,
        sum(revenue) as revenue,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount
    from {{ source_relation }}
    group by customer_id

),

shares as (

    select
        categories.customer_id,
        categories.category,
        categories.revenue,
        {{ segments_safe_divide('categories.revenue', 'totals.revenue') }} as revenue_share,
        row_number() over (
            partition by categories.customer_id
            order by categories.revenue desc, categories.category
        ) as revenue_rank
    from {{ source_relation }} as categories
    inner join totals
        on categories.customer_id = totals.customer_id
    where categories.category is not null

),

per_customer as (

    select
        customer_id,
        cast(sum(case when revenue > 0 then 1 else 0 end) as {{ dbt.type_int() }}) as category_breadth,
        sum(revenue_share * revenue_share) as category_concentration,
        max(case when revenue_rank = 1 then category end) as top_category
        {%- for value, column in pivot %},
        coalesce(sum(case when category = {{ segments_string_literal(value) }} then revenue_share end), 0) as {{ column }}
        {%- endfor %}
        {%- if pool_other %},
        coalesce(sum(case when category not in {{ segments_literal_list(pivot | map(attribute=0) | list) }}
            then revenue_share end), 0) as cat_share__other
        {%- endif %}
    from shares
    group by customer_id

)

select
    totals.customer_id,
    as_of.as_of_date,
    per_customer.category_breadth,
    per_customer.category_concentration,
    per_customer.top_category,
    {{ segments_safe_divide('totals.discount_amount', 'totals.gross_amount') }} as discount_share
    {%- for value, column in pivot %},
    per_customer.{{ column }}
    {%- endfor %}
    {%- if pool_other %},
    per_customer.cat_share__other
    {%- endif %}
from totals
cross join {{ ref('segments', 'int_segments__as_of_date') }} as as_of
left join per_customer
    on totals.customer_id = per_customer.customer_id
