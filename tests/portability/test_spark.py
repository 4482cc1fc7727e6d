"""The project on a local Apache Spark session (dbt-spark, method: session): every SQL model builds and its tests pass,
and features and segments equal DuckDB's for every customer (same stored model)."""

from __future__ import annotations

import pytest

from tests.portability import _engine_checks as checks
from tests.portability.engines import EngineBuild, Reference

pytestmark = pytest.mark.spark


def test_dbt_build_passes_on_spark(spark_build: EngineBuild) -> None:
    checks.check_build(spark_build)
    # Python models cannot run on Spark: the SQL twins were built instead.
    assert "segments__assignments_sql_value" in spark_build.build_output
    assert "segments__model_value " not in spark_build.build_output


def test_features_equal_duckdb(spark_build: EngineBuild, reference: Reference) -> None:
    checks.check_build(spark_build)
    checks.check_features(spark_build, reference)


def test_segments_fit_through_spark_gives_the_duckdb_model(spark_build: EngineBuild, reference: Reference) -> None:
    checks.check_fit(spark_build, reference)


def test_segment_ids_and_confidence_equal_duckdb(spark_build: EngineBuild, reference: Reference) -> None:
    checks.check_build(spark_build)
    checks.check_assignments(spark_build, reference)
    checks.check_customer_segments(spark_build, reference)
