"""Profiles of the channel segments: size, share, feature means and z-scores.

All logic is in segmentation.dbt_entry.build_profiles.
"""

from segmentation.dbt_entry import build_profiles


def model(dbt, session):
    features = dbt.ref("segments", "customer_features")
    assignments = dbt.ref("segments", "segments__assignments_channel")
    models = dbt.ref("segments", "segments__model_channel")
    return build_profiles(dbt, session, features, assignments, models, "channel")
