{#- Every assigned (view, model_version, segment_id) is a segment of that stored model. -#}
select
    assignments.view,
    assignments.model_version,
    assignments.segment_id,
    count(*) as customers
from {{ ref('segments', 'segment_assignments') }} as assignments
left join {{ segments_ref_catalog() }} as catalog
    on catalog.view = assignments.view
    and catalog.model_version = assignments.model_version
    and catalog.segment_id = assignments.segment_id
where catalog.segment_id is null
group by assignments.view, assignments.model_version, assignments.segment_id
