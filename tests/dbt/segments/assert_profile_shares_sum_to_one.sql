{#- Per view and as_of_date, segment shares add up to 1 and sizes to the assignments. -#}
with profiles as (
    select view, as_of_date, sum(share) as total_share, sum(size) as total_size
    from {{ ref('segments', 'segment_profiles') }}
    group by view, as_of_date
),

assignments as (
    select view, as_of_date, count(*) as assigned
    from {{ ref('segments', 'segment_assignments') }}
    group by view, as_of_date
)

select profiles.*, assignments.assigned
from profiles
left join assignments
    on assignments.view = profiles.view
    and assignments.as_of_date = profiles.as_of_date
where abs(profiles.total_share - 1) > 1e-6
    or assignments.assigned is null
    or profiles.total_size <> assignments.assigned
