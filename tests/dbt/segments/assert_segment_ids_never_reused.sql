{#-
  A segment id, once retired by a refit, never comes back: within a view, the model
  versions that contain an id form one unbroken run. (A returning id would mean the
  same number for a different segment.)
-#}
with positioned as (
    select
        view,
        segment_id,
        dense_rank() over (partition by view order by model_version) as position
    from {{ segments_ref_catalog() }}
    where view is not null and model_version is not null
),

usage as (
    select
        view,
        segment_id,
        count(*) as versions_with_id,
        max(position) - min(position) + 1 as span
    from positioned
    group by view, segment_id
)

select * from usage where versions_with_id <> span
