"""Every customer's channel segment for the run's as_of_date, scored with the stored model.

Scoring streams customer_features in chunks, so memory does not grow with the number
of customers. All logic is in segmentation.dbt_entry.build_assignments.
"""

from segmentation.dbt_entry import build_assignments


def model(dbt, session):
    features = dbt.ref("segments", "customer_features")
    models = dbt.ref("segments", "segments__model_channel")
    return build_assignments(dbt, session, features, models, "channel")
