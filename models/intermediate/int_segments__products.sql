{#- One row per product (the first of any duplicates), so joins to lines never fan out. -#}
select product_id, category, brand
from (
    select
        product_id,
        category,
        brand,
        row_number() over (partition by product_id order by category, brand) as occurrence
    from {{ ref('segments', 'stg_segments__products') }}
    where product_id is not null
) as ranked
where occurrence = 1
