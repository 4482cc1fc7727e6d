"""``segments report`` and ``segments summary`` (click commands the main CLI registers)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from segmentation.paths import default_duckdb_path
from segmentation.report.build import build_report
from segmentation.report.source import DEFAULT_SCHEMA, DEFAULT_SYNC_SCHEMA, ReportError
from segmentation.report.summary import DEFAULT_SYNC_CONFIG, collect_summary, render_summary

_DUCKDB_HELP = "DuckDB file the project builds into. Default: $SEGMENTS_DUCKDB_PATH or .data/segments.duckdb."


def _duckdb_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--duckdb",
        "duckdb_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=_DUCKDB_HELP,
    )(func)


def _schema_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--schema",
        default=DEFAULT_SCHEMA,
        show_default=True,
        help="Schema dbt builds the models into.",
    )(func)


@click.command("report")
@_duckdb_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write. Default: reports/segments_<as_of_date>.html.",
)
@_schema_option
@click.option(
    "--sync-schema",
    default=DEFAULT_SYNC_SCHEMA,
    show_default=True,
    help="Schema of the sync ledger (sync_runs, sync_state).",
)
@click.option(
    "--sample",
    "projection_sample",
    type=click.IntRange(min=10),
    default=5000,
    show_default=True,
    help="Customers sampled per view for the 2D projection and the drift check.",
)
def report_command(
    duckdb_path: Path | None,
    out: Path | None,
    schema: str,
    sync_schema: str,
    projection_sample: int,
) -> None:
    """Write the segment report: one self-contained HTML file that opens offline."""
    path = duckdb_path or default_duckdb_path()
    try:
        result = build_report(
            path,
            out,
            schema=schema,
            sync_schema=sync_schema,
            projection_sample=projection_sample,
        )
    except ReportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for note in result.missing:
        click.echo(f"note: {note}", err=True)
    click.echo(
        f"report written: {result.path} ({result.bytes / 1e6:.1f} MB, "
        f"{result.seconds:.1f} s: {result.seconds_reading:.1f} s reading, "
        f"{result.seconds_rendering:.1f} s rendering)"
    )


@click.command("summary")
@_duckdb_option
@_schema_option
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Report file to point at. Default: reports/segments_<as_of_date>.html.",
)
@click.option(
    "--sync-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_SYNC_CONFIG,
    show_default=True,
    help="Sync configuration used for the dry-run plan.",
)
def summary_command(
    duckdb_path: Path | None,
    schema: str,
    report_path: Path | None,
    sync_config: Path,
) -> None:
    """Print a short summary: segments per view, where the results are, what sync would send."""
    path = duckdb_path or default_duckdb_path()
    try:
        summary = collect_summary(path, schema=schema, report=report_path, sync_config=sync_config)
    except ReportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    render_summary(summary, Console(highlight=False, markup=False, emoji=False))
