"""``segments sync``: plan, run, setup and status (a click group the main CLI registers).

Exit codes, so a scheduler can tell outcomes apart:

* 0: every record confirmed (invalid rows are reported but do not fail the run
  unless ``--fail-on-invalid``);
* 1: some records failed at the destination, or a destination could not be
  synced at all; they are retried on the next run;
* 2: the configuration, credentials or warehouse tables are wrong;
* 3: HubSpot's daily API limit stopped the run; pending records go next run.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console

from sync.config import DEFAULT_CONFIG_PATH, SyncConfig, load_config
from sync.engine import DestinationResult, Engine
from sync.errors import ConfigError, SyncError, WarehouseError
from sync.report import RichProgress, render_plan, render_results, render_status
from sync.secrets import RedactingFilter, install_log_redaction, redact
from sync.warehouse import Warehouse, open_warehouse

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_DAILY_LIMIT = 3

log = logging.getLogger("sync")


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
        root.setLevel(level)
    logging.getLogger("sync").setLevel(level)
    # Whoever configured the handlers, they must not print a secret.
    install_log_redaction(root)


class _State:
    def __init__(self) -> None:
        self.config_path: str = DEFAULT_CONFIG_PATH
        self.verbose = 0


def _config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is not None:
            ctx.ensure_object(_State).config_path = value
        return value

    return click.option(
        "--config",
        "config_path",
        default=None,
        expose_value=False,
        callback=remember,
        help=f"Sync config file (YAML). Default: {DEFAULT_CONFIG_PATH}.",
    )(func)


def _destination_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--destination",
        "-d",
        "destinations",
        multiple=True,
        help="Only this destination (by name); repeatable. Default: every enabled one.",
    )(func)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn expected errors into a message and an exit code (no traceback, no secret)."""
    try:
        yield
    except (ConfigError, WarehouseError) as exc:
        click.echo(f"error: {redact(exc)}", err=True)
        sys.exit(EXIT_CONFIG)
    except SyncError as exc:
        click.echo(f"error: {redact(exc)}", err=True)
        sys.exit(EXIT_FAILED)


def _load(ctx: click.Context) -> SyncConfig:
    state = ctx.ensure_object(_State)
    return load_config(state.config_path)


def _console() -> Console:
    """A console that prints text as it is: warehouse and CRM text (an email ``[/red]``,
    an error ``:Email:``) is never read as Rich markup or emoji codes. Colour comes
    from ``style=`` only."""
    console = Console(highlight=False, markup=False, emoji=False)
    if not console.is_terminal:
        # Logs and CI output: do not squeeze the tables into 80 columns.
        console = Console(highlight=False, markup=False, emoji=False, width=200)
    return console


@click.group(name="sync")
@_config_option
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.pass_context
def sync_group(ctx: click.Context, verbose: int) -> None:
    """Push segments and journey enrollments to Salesforce and HubSpot.

    Only records whose mapped values changed since the destination last
    confirmed them are sent; the ledger lives in the warehouse.
    """
    state = ctx.ensure_object(_State)
    state.verbose = verbose
    _configure_logging(verbose)


def _open(config: SyncConfig, *, read_only: bool) -> Warehouse:
    return open_warehouse(config.warehouse, read_only=read_only)


@sync_group.command("plan")
@_config_option
@_destination_option
@click.option("--full", is_flag=True, help="Plan a full resend (ignore the ledger state).")
@click.pass_context
def plan_command(ctx: click.Context, destinations: tuple[str, ...], full: bool) -> None:
    """Dry run: count creates, updates, unchanged and invalid records; send nothing."""
    with _errors():
        config = _load(ctx)
        selected = config.selected(destinations)
        warehouse = _open(config, read_only=True)
        try:
            engine = Engine(config, warehouse)
            plans = [engine.plan(dest, full=full) for dest in selected]
        finally:
            warehouse.close()
        render_plan(_console(), plans)


@sync_group.command("run")
@_config_option
@_destination_option
@click.option("--full", is_flag=True, help="Resend every valid record, even those the ledger says are current.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on when stderr is a terminal).")
@click.option(
    "--fail-on-invalid", is_flag=True, help="Exit 1 when rows were rejected before sending (null/duplicate keys)."
)
@click.pass_context
def run_command(
    ctx: click.Context, destinations: tuple[str, ...], full: bool, progress: bool | None, fail_on_invalid: bool
) -> None:
    """Sync changed records and new journey enrollments to each destination."""
    results: list[DestinationResult] = []
    with _errors():
        config = _load(ctx)
        selected = config.selected(destinations)
        show_progress = sys.stderr.isatty() if progress is None else progress
        bar = RichProgress(Console(stderr=True, markup=False, emoji=False)) if show_progress else None
        warehouse = _open(config, read_only=False)
        try:
            engine = Engine(config, warehouse, progress=bar)
            for dest in selected:
                results.append(engine.run(dest, full=full))
        finally:
            if bar is not None:
                bar.close()
            warehouse.close()
    render_results(_console(), results)
    sys.exit(_exit_code(results, fail_on_invalid))


def _exit_code(results: list[DestinationResult], fail_on_invalid: bool) -> int:
    if any(r.outcome == "failed" or r.failed for r in results):
        return EXIT_FAILED
    if any(r.outcome == "rate_limited" for r in results):
        return EXIT_DAILY_LIMIT
    if fail_on_invalid and any(r.counts["invalid"] for r in results):
        return EXIT_FAILED
    return EXIT_OK


@sync_group.command("setup")
@_config_option
@_destination_option
@click.option(
    "--permission-set", default=None, help="Salesforce: also create/update this permission set granting the fields."
)
@click.pass_context
def setup_command(ctx: click.Context, destinations: tuple[str, ...], permission_set: str | None) -> None:
    """Create the CRM fields/properties the mapping needs, and say what to grant."""
    console = _console()
    failed = False
    with _errors():
        config = _load(ctx)
        selected = config.selected(destinations)
        warehouse = _open(config, read_only=True)
        try:
            engine = Engine(config, warehouse)
            for dest in selected:
                report = engine.setup(dest, permission_set)
                console.rule(f"{dest.name} ({dest.type})")
                for line in report.created:
                    console.print(f"created   {line}")
                for line in report.updated:
                    console.print(f"updated   {line}")
                for line in report.unchanged:
                    console.print(f"unchanged {line}")
                for line in report.errors:
                    console.print(f"error     {redact(line)}", style="red")
                for line in report.instructions:
                    console.print(f"todo      {line}")
                failed = failed or bool(report.errors)
        finally:
            warehouse.close()
    sys.exit(EXIT_FAILED if failed else EXIT_OK)


@sync_group.command("status")
@_config_option
@click.option("--destination", "-d", "destination", default=None, help="Only this destination.")
@click.option("--limit", default=10, show_default=True, help="How many runs to show.")
@click.pass_context
def status_command(ctx: click.Context, destination: str | None, limit: int) -> None:
    """Show the last runs, their failures and how many records are confirmed."""
    with _errors():
        config = _load(ctx)
        if destination:
            config.destination(destination)
        warehouse = _open(config, read_only=True)
        try:
            engine = Engine(config, warehouse)
            if not engine.ledger.exists():
                click.echo("No sync runs recorded yet (the ledger tables do not exist).")
                return
            runs = engine.ledger.last_runs(destination, limit)
            latest: dict[str, str] = {}
            for run in runs:
                latest.setdefault(str(run["destination"]), str(run["run_id"]))
            failures = {run_id: engine.ledger.failures(run_id) for run_id in latest.values()}
            failures = {k: v for k, v in failures.items() if v}
            render_status(_console(), runs, failures, engine.ledger.state_counts())
        finally:
            warehouse.close()
