"""Every segment of every stored model version (view, model_version, segment_id, name).

The long form of segment_models' JSON, so tests and reports can check that an
assigned id belongs to the model that assigned it. Logic in
segmentation.dbt_entry.build_catalog.
"""

from segmentation.dbt_entry import build_catalog


def model(dbt, session):
    value = dbt.ref("segments", "segments__model_value")
    behavioral = dbt.ref("segments", "segments__model_behavioral")
    channel = dbt.ref("segments", "segments__model_channel")
    return build_catalog(dbt, session, value, behavioral, channel)
