"""Fixtures for the report tests: rendered reports of the demo build and of a synthetic
warehouse, and Debian's headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentation.report import ReportResult, build_report
from tests.conftest import REPO_ROOT, DemoWarehouse
from tests.report.browser import Chromium, ensure_chromium
from tests.report.synthetic import build_synthetic_warehouse

ARTIFACTS = REPO_ROOT / "reports" / "test-artifacts"


@pytest.fixture(scope="session")
def synthetic_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_warehouse(tmp_path_factory.mktemp("synthetic") / "synthetic.duckdb")


@pytest.fixture(scope="session")
def demo_report(demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    out = tmp_path_factory.mktemp("demo-report") / "segments_demo.html"
    return build_report(demo_warehouse.path, out)


@pytest.fixture(scope="session")
def synthetic_report(synthetic_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    out = tmp_path_factory.mktemp("synthetic-report") / "segments_synthetic.html"
    return build_report(synthetic_warehouse, out)


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    found, problem = ensure_chromium()
    if found is None:
        pytest.skip(f"headless browser test skipped: {problem}")
    return found


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
