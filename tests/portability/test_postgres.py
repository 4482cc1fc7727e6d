"""The project on a real PostgreSQL server: every SQL model builds and its tests pass,
and features and segments equal DuckDB's for every customer (same stored model)."""

from __future__ import annotations

import pytest

from tests.portability import _engine_checks as checks
from tests.portability.engines import EngineBuild, Reference

pytestmark = pytest.mark.postgres


def test_dbt_build_passes_on_postgres(postgres_build: EngineBuild) -> None:
    checks.check_build(postgres_build)
    # Python models cannot run on Postgres: the SQL twins were built instead.
    assert "segments__assignments_sql_value" in postgres_build.build_output
    assert "segments__model_value " not in postgres_build.build_output


def test_features_equal_duckdb(postgres_build: EngineBuild, reference: Reference) -> None:
    checks.check_build(postgres_build)
    checks.check_features(postgres_build, reference)


def test_segments_fit_through_postgres_gives_the_duckdb_model(
    postgres_build: EngineBuild, reference: Reference
) -> None:
    checks.check_fit(postgres_build, reference)


def test_segment_ids_and_confidence_equal_duckdb(postgres_build: EngineBuild, reference: Reference) -> None:
    checks.check_build(postgres_build)
    checks.check_assignments(postgres_build, reference)
    checks.check_customer_segments(postgres_build, reference)
