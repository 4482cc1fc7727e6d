{#-
  A segment id, once retired by a refit, never comes back: within a view, the model
  versions that contain an id form one unbroken run. (A returning id would mean the
  same number for a different segment.)
-#}
with versions as (
    select view, model_version, row_number() over (partition by view order by model_version) as position
    from (select distinct view, model_version from {{ segments_ref_catalog() }}) as distinct_versions
),

usage as (
    select
        catalog.view,
        catalog.segment_id,
        count(*) as versions_with_id,
        max(versions.position) - min(versions.position) + 1 as span
    from {{ segments_ref_catalog() }} as catalog
    inner join versions
        on versions.view = catalog.view
        and versions.model_version = catalog.model_version
    group by catalog.view, catalog.segment_id
)

select * from usage where versions_with_id <> span
