"""Model history of the value segmentation: one row per fitted model version.

Incremental: a run appends a version only when a fit is needed (none stored, refit
requested with the segments_refit var, configuration or inputs changed, or drift);
otherwise it appends nothing and the stored model keeps scoring. All logic is in
segmentation.dbt_entry.build_model_versions.
"""

from segmentation.dbt_entry import build_model_versions


def model(dbt, session):
    settings = dbt.config.meta_get("segmentation")
    overrides = dbt.config.meta_get("segments_view_overrides")
    refit = dbt.config.meta_get("segments_refit")
    features = dbt.ref("segments", "customer_features")
    return build_model_versions(dbt, session, features, settings, overrides, refit)
