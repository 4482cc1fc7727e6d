"""``segments summary``: segments per view, where the results are, what sync would send."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from click.testing import CliRunner

from segmentation.report.cli import summary_command
from segmentation.report.summary import collect_summary, sync_plan
from tests.conftest import REPO_ROOT, DemoWarehouse


def _run(*args: str) -> str:
    result = CliRunner().invoke(summary_command, list(args), terminal_width=120)
    assert result.exit_code == 0, result.output
    return result.output


def _flat(output: str) -> str:
    """The output as one line of words, without the panel's borders."""
    return " ".join(output.translate(str.maketrans("", "", "│╭╮╰╯─")).split())


def test_summary_lists_every_views_segments_with_sizes(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    output = _run(
        "--duckdb",
        str(demo_warehouse.path),
        "--sync-config",
        str(tmp_path / "none.yml"),
        "--report",
        str(tmp_path / "not-yet.html"),
    )
    con = duckdb.connect(str(demo_warehouse.path), read_only=True)
    try:
        rows = con.execute(
            "select view, segment_name, count(*) from main.segment_assignments "
            "where as_of_date = (select max(as_of_date) from main.segment_assignments) group by all"
        ).fetchall()
        customers = con.execute("select count(*) from main.customer_rfm").fetchall()[0][0]
    finally:
        con.close()
    assert {"Value (RFM clustering)", "Behavioral (product affinity)", "Channel and engagement"} <= {
        line.strip().split("  ")[0].strip("│ ") for line in output.splitlines()
    }
    flat = _flat(output)
    for _, name, count in rows:
        assert f"{count:,}" in output, name
    assert f"{customers:,} customers in scope" in flat
    assert "Champions" in output
    assert str(demo_warehouse.path.resolve()) in flat.replace(" ", "")
    assert "not configured: no" in flat
    assert "not built yet: run `segments report`" in flat


def test_summary_points_at_an_existing_report(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    report.write_text("<html></html>")
    summary = collect_summary(demo_warehouse.path, report=report, sync_config=tmp_path / "none.yml")
    assert summary.report_exists and summary.report_path == report


def test_sync_plan_counts_what_would_be_sent(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    config = tmp_path / "sync.yml"
    shutil.copy(REPO_ROOT / "sync.example.yml", config)
    lines, note = sync_plan(demo_warehouse.path, config)
    assert note is None
    con = duckdb.connect(str(demo_warehouse.path), read_only=True)
    try:
        customers = con.execute("select count(*) from main.customer_segments").fetchall()[0][0]
    finally:
        con.close()
    assert [line.destination for line in lines] == ["salesforce", "hubspot"]
    for line in lines:
        # nothing was ever sent: every valid customer is a create, the rest invalid
        created = int(line.text.split(" to create")[0].replace(",", ""))
        invalid = (
            int(line.text.split(" invalid")[0].rsplit(", ", 1)[-1].replace(",", "")) if " invalid" in line.text else 0
        )
        assert created + invalid == customers, line.text
    output = _run("--duckdb", str(demo_warehouse.path), "--sync-config", str(config))
    assert "salesforce" in output and "to create" in output
    assert "nothing was sent" in _flat(output)


def test_a_broken_sync_config_does_not_hide_the_summary(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    config = tmp_path / "sync.yml"
    config.write_text("destinations: []\n")
    output = _run("--duckdb", str(demo_warehouse.path), "--sync-config", str(config))
    assert "Value (RFM clustering)" in output
    assert "not available: destinations" in _flat(output)


def test_missing_warehouse(tmp_path: Path) -> None:
    result = CliRunner().invoke(summary_command, ["--duckdb", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2 and "does not exist" in result.output
