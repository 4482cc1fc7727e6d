"""The report built from a real demo run: self-contained, read-only, real numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from segmentation.report import ReportError, ReportResult, build_report, default_report_path
from segmentation.report.cli import report_command
from segmentation.report.data import (
    Drift,
    ModelInfo,
    Projection,
    current_as_of_date,
    drift_from_model,
    load_model,
    load_sample,
)
from segmentation.report.source import Missing, Source
from tests.conftest import DemoWarehouse
from tests.dbt_harness import query_duckdb
from tests.report.pages import figures, missing_notes

VIEWS = ("value", "behavioral", "channel")


def test_page_is_one_self_contained_file(demo_report: ReportResult) -> None:
    html = demo_report.path.read_text(encoding="utf-8")
    # nothing is fetched: no external script, stylesheet, image or font
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=\"(https?:)?//", html)
    assert "@import" not in html and "url(http" not in html
    # plotly.js is inlined exactly once, before the figures that need it
    assert html.count("* plotly.js v") == 1
    assert html.index("Plotly") < html.index('data-figure-json="')
    assert demo_report.bytes == len(html.encode("utf-8"))


def test_every_view_has_its_figures(demo_report: ReportResult) -> None:
    figs = figures(demo_report.path.read_text(encoding="utf-8"))
    assert "fig-rfm-grid" in figs
    for view in VIEWS:
        for kind in ("k", "sizes", "profiles", "projection", "drift"):
            assert f"fig-{view}-{kind}" in figs, f"fig-{view}-{kind} missing"


def test_segment_sizes_and_names_come_from_the_warehouse(
    demo_warehouse: DemoWarehouse, demo_report: ReportResult
) -> None:
    html = demo_report.path.read_text(encoding="utf-8")
    figs = figures(html)
    as_of = demo_report.as_of_date
    for view in VIEWS:
        rows = query_duckdb(
            demo_warehouse.path,
            "select segment_name, size from main.segment_profiles where view = ? and as_of_date = ?",
            [view, as_of],
        )
        assert rows, view
        bars = figs[f"fig-{view}-sizes"]["data"][0]
        assert sorted(bars["x"]) == sorted(int(size) for _, size in rows)
        for name, _ in rows:
            assert str(name).replace("'", "&#39;") in html
    customers = query_duckdb(demo_warehouse.path, "select count(*) from main.customer_rfm")[0][0]
    assert f"{customers:,}" in html


def test_k_selection_curves_show_every_stored_candidate(
    demo_warehouse: DemoWarehouse, demo_report: ReportResult
) -> None:
    figs = figures(demo_report.path.read_text(encoding="utf-8"))
    for view in VIEWS:
        (quality,) = query_duckdb(
            demo_warehouse.path,
            "select quality from main.segment_models where view = ? order by model_version desc limit 1",
            [view],
        )[0]
        candidates = json.loads(str(quality))["k_selection"]["candidates"]
        traces = figs[f"fig-{view}-k"]["data"]
        assert len(traces) == 3  # silhouette, CH, DB
        assert list(traces[0]["x"]) == [c["k"] for c in candidates]
        assert traces[2]["y"] == pytest.approx([c["davies_bouldin"] for c in candidates])


def test_projection_is_in_the_models_space(demo_report: ReportResult) -> None:
    for section in demo_report.data.views:
        projection, model = section.projection, section.model
        assert isinstance(projection, Projection) and isinstance(model, ModelInfo)
        assert projection.method == "the model's own scaling"
        assert projection.n_sampled == min(5000, projection.n_total)
        assert projection.centroids is not None and len(projection.centroids) == model.k
        assert 0 < projection.explained[1] <= projection.explained[0] <= 1


def test_drift_is_shown_for_every_view(demo_report: ReportResult) -> None:
    for section in demo_report.data.views:
        assert isinstance(section.drift, Drift), section.drift
        assert len(section.drift.frame) >= 4


def test_computed_drift_against_the_training_reference_is_zero_on_the_training_date(
    demo_warehouse: DemoWarehouse,
) -> None:
    # The demo has one run: the model was trained on the same customers the report
    # samples, so every feature's PSI against the stored reference must be ~0.
    with Source(demo_warehouse.path) as src:
        as_of = current_as_of_date(src)
        for view in VIEWS:
            model = load_model(src, view, None)
            assert isinstance(model, ModelInfo)
            sample = load_sample(src, view, as_of, model, Missing("unused"), 5000)
            drift = drift_from_model(src, view, model, sample, 0.25)
            assert isinstance(drift, Drift), drift
            assert drift.source.startswith("computed for this report")
            assert len(drift.frame) >= 4
            assert (drift.frame["psi"] < 0.01).all(), drift.frame


def test_single_run_explains_why_there_are_no_migrations(demo_report: ReportResult) -> None:
    notes = missing_notes(demo_report.path.read_text(encoding="utf-8"))
    assert any(n.startswith("not available: segment_transitions") for n in notes), notes
    assert "not available: segments_sync.sync_runs not built" in notes


def test_report_never_writes_to_the_warehouse(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    before = demo_warehouse.path.stat().st_mtime_ns
    build_report(demo_warehouse.path, tmp_path / "r.html")
    assert demo_warehouse.path.stat().st_mtime_ns == before
    # and it released the file: a writer can open it right after
    duckdb.connect(str(demo_warehouse.path)).close()


def test_report_command(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    out = tmp_path / "cli.html"
    result = CliRunner().invoke(report_command, ["--duckdb", str(demo_warehouse.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "report written: " in result.output and out.exists()
    assert "segment_transitions" in result.output  # the notes are echoed too


def test_default_path_names_the_as_of_date(demo_report: ReportResult) -> None:
    assert demo_report.as_of_date is not None
    assert default_report_path(demo_report.as_of_date).name == f"segments_{demo_report.as_of_date}.html"


def test_a_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"nowhere\.duckdb does not exist"):
        build_report(tmp_path / "nowhere.duckdb", tmp_path / "r.html")
    result = CliRunner().invoke(report_command, ["--duckdb", str(tmp_path / "nowhere.duckdb")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
