"""Sections checked against a hand-made warehouse with known numbers, and graceful
degradation when a stage has not run."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from segmentation.report import ReportResult, build_report
from segmentation.report.data import Drift, Missing, Transitions, load_profiles
from segmentation.report.source import Source
from tests.report.pages import figures, missing_notes
from tests.report.synthetic import AS_OF, MAIN_RELATIONS, SYNC_RELATIONS, build_synthetic_warehouse


def _copy_without(source: Path, tmp_path: Path, drop: list[str]) -> Path:
    target = tmp_path / "copy.duckdb"
    shutil.copy(source, target)
    con = duckdb.connect(str(target))
    try:
        for statement in drop:
            con.execute(statement)
    finally:
        con.close()
    return target


def test_full_warehouse_has_no_missing_section(synthetic_report: ReportResult) -> None:
    html = synthetic_report.path.read_text(encoding="utf-8")
    assert synthetic_report.missing == ()
    assert missing_notes(html) == []
    figs = figures(html)
    for view in ("value", "behavioral", "channel"):
        for kind in ("k", "sizes", "profiles", "projection", "transitions", "sankey", "drift", "history"):
            assert f"fig-{view}-{kind}" in figs
    assert {"fig-rfm-grid", "fig-rfm-transitions", "fig-rfm-sankey"} <= set(figs)


def test_transition_matrix_is_row_normalised_over_customers_on_both_dates(synthetic_report: ReportResult) -> None:
    section = synthetic_report.data.views[0]
    moves = section.transitions
    assert isinstance(moves, Transitions)
    assert (str(moves.from_date), str(moves.to_date)) == ("2026-09-01", "2026-10-01")
    both = moves.matrix.dropna(subset=["from_segment_id", "to_segment_id"])
    sums = both.groupby("from_segment_id")["probability"].sum()
    assert sums.to_numpy() == pytest.approx([1.0, 1.0, 1.0])
    # every 10th customer moves each run: 90% stay; the 5 entrants do not count
    assert moves.stayed_share == pytest.approx(0.9)
    # the flow chart covers both pairs of runs, without the entrants
    sankey = figures(synthetic_report.path.read_text(encoding="utf-8"))["fig-value-sankey"]["data"][0]
    assert sum(sankey["link"]["value"]) == 2 * 600


def test_drift_comes_from_segment_drift_with_its_threshold(synthetic_report: ReportResult) -> None:
    drift = synthetic_report.data.views[0].drift
    assert isinstance(drift, Drift)
    assert drift.source == "as measured by the segment_drift model at each run"
    assert drift.threshold == 0.2  # the relation's psi_threshold wins over the model config's 0.25
    latest = drift.frame[drift.frame["date"] == drift.frame["date"].max()]
    psi = dict(zip(latest["feature"], latest["psi"], strict=True))
    assert psi == pytest.approx(
        {"recency_days": 0.31, "frequency": 0.04, "monetary_total": 0.12, "segment shares": 0.02}
    )
    figs = figures(synthetic_report.path.read_text(encoding="utf-8"))
    bars = figs["fig-value-drift"]["data"][0]
    assert bars["marker"]["color"].count("#c2475f") == 1  # only recency is above the threshold
    lines = figs["fig-value-drift-history"]["data"]
    assert len(lines) == 4 and all(len(line["x"]) == 2 for line in lines)


def test_sync_runs_and_failures_are_shown(synthetic_report: ReportResult) -> None:
    html = synthetic_report.path.read_text(encoding="utf-8")
    section = html[html.index('id="sync"') :]
    assert "INVALID_SESSION_ID" in section
    assert section.count('<tr class="warn">') == 1  # the failed Salesforce run
    assert ">590<" in section  # contacts confirmed in HubSpot


def test_data_quality_flags_rules_above_the_warning_share(synthetic_report: ReportResult) -> None:
    html = synthetic_report.path.read_text(encoding="utf-8")
    block = html[html.index('id="data-quality"') : html.index('id="rfm"')]
    warn_rows = block.split('<tr class="warn">')[1:]
    assert len(warn_rows) == 1 and "non_positive_quantity" in warn_rows[0]


def test_projection_without_a_stored_transform_standardises_features(synthetic_report: ReportResult) -> None:
    projection = synthetic_report.data.views[0].projection
    assert getattr(projection, "method", None) == "standardised features"
    assert getattr(projection, "n_sampled", 0) == 600


@pytest.mark.parametrize("relation", [*MAIN_RELATIONS, *(f"segments_sync.{r}" for r in SYNC_RELATIONS)])
def test_each_absent_relation_becomes_a_note(synthetic_warehouse: Path, tmp_path: Path, relation: str) -> None:
    qualified = relation if "." in relation else f"main.{relation}"
    path = _copy_without(synthetic_warehouse, tmp_path, [f"drop table {qualified}"])
    result = build_report(path, tmp_path / "r.html")
    html = result.path.read_text(encoding="utf-8")
    notes = missing_notes(html)
    if relation == "segment_drift":
        # drift falls back to the model's reference; the synthetic models have none
        assert any("segment_drift not built, and model version 1" in n for n in notes), notes
    elif relation == "customer_features":
        assert "not available: customer_features not built" in notes
    else:
        assert f"not available: {relation} not built" in notes, notes
    assert figures(html), "the rest of the page still has figures"


def test_empty_warehouse_renders_notes_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    result = build_report(path, tmp_path / "r.html")
    html = result.path.read_text(encoding="utf-8")
    assert result.path.name == "r.html" and result.as_of_date is None
    assert set(missing_notes(html)) == {
        "not available: data_quality not built",
        "not available: customer_rfm not built",
        "not available: segment_assignments not built",
        "not available: segments_sync.sync_runs not built",
        "not available: segments_sync.sync_state not built",
    }
    assert figures(html) == {}


def test_a_relation_without_a_needed_column_is_named(synthetic_warehouse: Path, tmp_path: Path) -> None:
    path = _copy_without(synthetic_warehouse, tmp_path, ["alter table main.data_quality drop column share"])
    html = build_report(path, tmp_path / "r.html").path.read_text(encoding="utf-8")
    assert "not available: data_quality lacks column(s) share" in missing_notes(html)


def test_names_from_the_warehouse_cannot_inject_markup(tmp_path: Path) -> None:
    evil = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"
    path = build_synthetic_warehouse(tmp_path / "evil.duckdb", segment_name_override=evil)
    html = build_report(path, tmp_path / "r.html").path.read_text(encoding="utf-8")
    assert "<img src=x" not in html
    assert "<script>alert(2)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as text on the cards


@pytest.mark.parametrize(
    "catalogs",
    [["segment_catalog"], ["segments__catalog_sql"], ["segment_catalog", "segments__catalog_sql"]],
)
def test_stability_comes_from_whichever_catalog_was_built(
    synthetic_warehouse: Path, tmp_path: Path, catalogs: list[str]
) -> None:
    """Python models write segment_catalog, SQL scoring segments__catalog_sql; the newest version wins."""
    statements = []
    for version, name in enumerate(catalogs, start=1):
        statements.append(
            f"create table main.{name} as select 'value' as view, segment_id, {version} as model_version, "
            f"segment_id / 10 + {version} / 100 as stability_jaccard from (values (1), (2), (3)) as s(segment_id)"
        )
    warehouse = _copy_without(synthetic_warehouse, tmp_path, statements)
    with Source(warehouse) as src:
        profiles = load_profiles(src, "value", AS_OF)
    assert not isinstance(profiles, Missing)
    newest = len(catalogs)
    assert {p.segment_id: p.stability for p in profiles} == {
        seg: pytest.approx(seg / 10 + newest / 100) for seg in (1, 2, 3)
    }
