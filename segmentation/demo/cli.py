"""``segments demo-data``: generate the demo raw tables into a DuckDB file."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from segmentation.demo.generator import ID_STYLES, MAX_CUSTOMERS, DemoDataError, generate_demo_data
from segmentation.paths import DEFAULT_DUCKDB_PATH, DUCKDB_PATH_ENV, default_duckdb_path


@click.command("demo-data")
@click.option(
    "--customers",
    type=click.IntRange(1, MAX_CUSTOMERS),
    default=100_000,
    show_default=True,
    help="Number of customers to generate (about 16 order lines each).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=42,
    show_default=True,
    help="Random seed; the same seed gives identical tables.",
)
@click.option(
    "--duckdb",
    "duckdb_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"DuckDB file to write [default: ${DUCKDB_PATH_ENV} or {DEFAULT_DUCKDB_PATH}].",
)
@click.option(
    "--schema",
    default="raw",
    show_default=True,
    help="Schema for the raw tables (existing tables are replaced).",
)
@click.option(
    "--minimal",
    is_flag=True,
    help="Write only raw.order_lines with the five required columns (minimal input contract).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date of the newest order (YYYY-MM-DD) [default: 2026-10-31].",
)
@click.option(
    "--id-style",
    type=click.Choice(ID_STYLES),
    default="text",
    show_default=True,
    help="Customer ids as zero-padded text (C000042) or as integers (42).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def demo_data_command(
    customers: int,
    seed: int,
    duckdb_path: Path | None,
    schema: str,
    minimal: bool,
    as_of: datetime | None,
    id_style: str,
    quiet: bool,
) -> None:
    """Generate realistic demo data with planted personas into DuckDB."""
    path = duckdb_path if duckdb_path is not None else default_duckdb_path()
    console = Console()
    started = time.perf_counter()
    try:
        counts = generate_demo_data(
            path,
            customers=customers,
            seed=seed,
            schema=schema,
            minimal=minimal,
            end_date=as_of.date() if as_of is not None else None,
            progress=not quiet,
            id_style=id_style,
        )
    except DemoDataError as exc:
        raise click.ClickException(str(exc)) from exc
    seconds = time.perf_counter() - started

    table = Table(title=f"Demo data in {path} (schema {schema})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(f"{schema}.{name}", f"{rows:,}")
    table.add_section()
    table.add_row("seconds", f"{seconds:.1f}")
    console.print(table)
