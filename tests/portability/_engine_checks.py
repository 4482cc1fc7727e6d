"""Assertions shared by the PostgreSQL and Spark tests (same data, same stored model)."""

from __future__ import annotations

from tests.dbt_harness import failure_summary
from tests.portability.compare import frame_differences, model_differences
from tests.portability.engines import REFERENCE_REASON, VIEWS, EngineBuild, Reference

RFM_COLUMNS = [
    "as_of_date",
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_order_value",
    "tenure_days",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
]


def check_build(build: EngineBuild) -> None:
    assert build.build_ok, failure_summary(build.build_output)
    assert "ERROR=0" in build.build_output


def check_features(build: EngineBuild, reference: Reference) -> None:
    actual = build.tables["customer_features"]
    assert len(actual) == len(reference.features) > 0
    assert sorted(c.lower() for c in actual.columns) == sorted(reference.features.columns)
    rfm = frame_differences(reference.features, actual, ["customer_id"], RFM_COLUMNS)
    assert not rfm, f"{build.name}: RFM features differ from DuckDB: {rfm}"
    every = frame_differences(reference.features, actual, ["customer_id"])
    assert not every, f"{build.name}: features differ from DuckDB: {every}"


def check_fit(build: EngineBuild, reference: Reference) -> None:
    for view in VIEWS:
        fitted = build.fitted[view]
        assert len(fitted) == 1, f"{view}: segments fit wrote {len(fitted)} versions"
        assert int(fitted[0]["model_version"]) == 1
        assert int(fitted[0]["n_customers"]) == len(reference.features)
        problems = model_differences(reference.models[view][-1], fitted[0])
        assert not problems, f"{build.name} {view}: model fitted through the dbt target differs: {problems}"


def check_assignments(build: EngineBuild, reference: Reference) -> None:
    actual = build.tables["segment_assignments"]
    expected = reference.assignments
    assert len(actual) == len(expected) == 3 * len(reference.features)
    ids = frame_differences(expected, actual, ["customer_id", "view"], ["segment_id", "segment_name"], rtol=0, atol=0)
    assert not ids, f"{build.name}: segment ids differ from DuckDB: {ids}"
    confidence = frame_differences(expected, actual, ["customer_id", "view"], ["confidence"], rtol=0, atol=1e-9)
    assert not confidence, f"{build.name}: confidence differs from DuckDB: {confidence}"
    models = build.tables["segment_models"]
    latest = models[models["is_latest"].astype(bool)]
    assert set(latest["fit_reason"]) == {REFERENCE_REASON}
    assert set(actual["model_version"].astype(int)) == {2}


def check_customer_segments(build: EngineBuild, reference: Reference) -> None:
    columns = [f"{v}_{c}" for v in VIEWS for c in ("segment_id", "segment")] + ["rfm_segment", "email"]
    problems = frame_differences(
        reference.customer_segments, build.tables["customer_segments"], ["customer_id"], columns, rtol=0, atol=0
    )
    assert not problems, f"{build.name}: customer_segments differ from DuckDB: {problems}"
