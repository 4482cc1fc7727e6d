{#-
  On the current as_of_date, every view that has a stored model assigns exactly the
  customers of customer_features: none missing, none extra, none twice.
-#}
with fitted_views as (
    select distinct view from {{ ref('segments', 'segment_models') }}
),

features as (
    select customer_id, as_of_date from {{ ref('segments', 'customer_features') }}
),

expected as (
    select fitted_views.view, features.customer_id, features.as_of_date
    from fitted_views
    cross join features
),

actual as (
    select view, customer_id, as_of_date, count(*) as rows_per_customer
    from {{ ref('segments', 'segment_assignments') }}
    where as_of_date in (select as_of_date from features)
    group by view, customer_id, as_of_date
)

select
    coalesce(expected.view, actual.view) as view,
    coalesce(expected.customer_id, actual.customer_id) as customer_id,
    actual.rows_per_customer
from expected
full outer join actual
    on actual.view = expected.view
    and actual.customer_id = expected.customer_id
    and actual.as_of_date = expected.as_of_date
where expected.customer_id is null
    or actual.customer_id is null
    or actual.rows_per_customer <> 1
