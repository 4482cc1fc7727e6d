"""``segments backfill``: rebuild the project for a range of past dates, oldest first.

Segment history, migrations and journey triggers only exist for the dates a
``dbt build`` ran on. To give a new installation a past, this command runs one
``dbt build --vars '{as_of_date: ...}'`` per date from ``--start`` to ``--end``
(inclusive) in date order, because each date builds on the previous one: the
segmentation reuses or refits the model stored by the earlier date, migrations
pair a date with the one before it, and journey cool-downs look back at earlier
triggers. It stops at the first failed date, so history never gets a gap that a
later date silently papers over; re-running the command repeats dates that
already ran, which is harmless because every date is idempotent.

By default dbt runs in this process and the project is parsed once: ``as_of_date``
is only read when models compile, so one manifest serves every date, and a
changed ``--vars`` would otherwise make dbt re-parse the whole project for each
date. ``--isolated`` runs each date as its own ``dbt build`` subprocess instead,
exactly as on the command line. dbt unit tests check model logic, not data, so
they are left out of the per-date builds unless ``--unit-tests`` is given.
"""

from __future__ import annotations

import calendar
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import click
import yaml

from segmentation.paths import default_duckdb_path

FREQUENCIES = ("day", "week", "month", "quarter")
_OUTPUT_TAIL_LINES = 40


class BackfillError(click.ClickException):
    """A backfill could not start or a date's build failed."""


@dataclass(frozen=True)
class BuildResult:
    """Outcome of one ``dbt build``: success, output to show on failure, node statuses."""

    returncode: int
    output: str
    statuses: Mapping[str, int] = field(default_factory=dict)


class Builder(Protocol):
    """Builds the project for one as_of_date."""

    def describe(self, as_of: date) -> str: ...

    def build(self, as_of: date) -> BuildResult: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- dates


def backfill_dates(start: date, end: date, every: str) -> list[date]:
    """The dates from ``start`` to ``end`` inclusive, ``every`` day, week, month or quarter.

    Months and quarters keep the start's day of the month, clamped to shorter
    months (a start on 31 January gives 28/29 February, then 31 March), so a
    monthly series anchored on the 1st stays on the 1st.
    """
    if every not in FREQUENCIES:
        raise ValueError(f"every must be one of {', '.join(FREQUENCIES)}, got {every!r}")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    dates: list[date] = []
    step = 0
    while True:
        current = _step(start, every, step)
        if current > end:
            return dates
        dates.append(current)
        step += 1


def _step(start: date, every: str, n: int) -> date:
    if every == "day":
        return start + timedelta(days=n)
    if every == "week":
        return start + timedelta(weeks=n)
    months = n * (1 if every == "month" else 3)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


# ---------------------------------------------------------------- dbt arguments


def find_project_dir(explicit: Path | None) -> Path:
    """The dbt project to build: ``explicit``, else the working directory, else this checkout."""
    candidates = [explicit] if explicit is not None else [Path.cwd(), Path(__file__).resolve().parents[1]]
    for candidate in candidates:
        if candidate is not None and (candidate / "dbt_project.yml").is_file():
            return candidate.resolve()
    where = explicit if explicit is not None else Path.cwd()
    raise BackfillError(
        f"no dbt_project.yml in {where}: run the command from the project directory or pass --project-dir"
    )


def find_profiles_dir(explicit: Path | None, project_dir: Path) -> Path | None:
    """Where dbt should read profiles.yml from; ``None`` leaves it to dbt (~/.dbt)."""
    if explicit is not None:
        if not (explicit / "profiles.yml").is_file():
            raise BackfillError(f"--profiles-dir {explicit}: there is no profiles.yml in it")
        return explicit.resolve()
    from_env = os.environ.get("DBT_PROFILES_DIR")
    if from_env:
        return Path(from_env)
    if (project_dir / "profiles.yml").is_file():
        return project_dir
    if (Path.home() / ".dbt" / "profiles.yml").is_file():
        return None
    raise BackfillError(
        f"no profiles.yml found (looked in DBT_PROFILES_DIR, {project_dir} and ~/.dbt): "
        f"copy {project_dir / 'profiles.yml.example'} to {project_dir / 'profiles.yml'} "
        "or pass --profiles-dir"
    )


def parse_vars(text: str | None) -> dict[str, Any]:
    """The ``--vars`` mapping (YAML or JSON, as dbt takes it); as_of_date is set per date."""
    if not text:
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise click.BadParameter(f"not valid YAML: {error}", param_hint="--vars") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter(
            f"expected a mapping such as '{{segments_refit: true}}', got {text!r}", param_hint="--vars"
        )
    if "as_of_date" in parsed:
        raise click.BadParameter("as_of_date is set by the backfill for each date; leave it out", param_hint="--vars")
    return parsed


@dataclass(frozen=True)
class DbtArgs:
    """Everything of a ``dbt build`` invocation except the date."""

    project_dir: Path
    profiles_dir: Path | None
    target: str | None
    select: str | None
    variables: Mapping[str, Any]
    unit_tests: bool
    extra: Sequence[str]

    def common(self) -> list[str]:
        args = ["--project-dir", str(self.project_dir)]
        if self.profiles_dir is not None:
            args += ["--profiles-dir", str(self.profiles_dir)]
        if self.target:
            args += ["--target", self.target]
        return args

    def build(self, as_of: date) -> list[str]:
        args = ["build", *self.common()]
        if self.select:
            args += ["--select", self.select]
        if not self.unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        args += ["--vars", json.dumps({**self.variables, "as_of_date": as_of.isoformat()}, default=str)]
        return args + list(self.extra)

    def parse(self) -> list[str]:
        args = ["parse", *self.common()]
        if self.variables:
            args += ["--vars", json.dumps(dict(self.variables), default=str)]
        return args


def _tail(lines: Sequence[str] | str, count: int = _OUTPUT_TAIL_LINES) -> str:
    text = lines if isinstance(lines, str) else "\n".join(lines)
    return "\n".join(text.rstrip().splitlines()[-count:])


@contextmanager
def _environment(env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    """Temporarily set environment variables and the working directory (dbt reads both)."""
    saved = {key: os.environ.get(key) for key in env}
    previous = Path.cwd()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(previous)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ---------------------------------------------------------------- builders


def dbt_executable() -> str:
    """The dbt next to this Python interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    if beside.is_file():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise BackfillError("dbt is not installed: no dbt next to this Python and none on PATH")
    return found


def run_subprocess(command: list[str], env: dict[str, str], cwd: Path) -> BuildResult:
    """Run one dbt command and capture its output."""
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return BuildResult(completed.returncode, completed.stdout + completed.stderr)


class SubprocessBuilder:
    """Each date is its own ``dbt build`` process (``--isolated``)."""

    def __init__(self, args: DbtArgs, env: Mapping[str, str]) -> None:
        self.args = args
        self.env = {**os.environ, **env}
        self.dbt = dbt_executable()

    def describe(self, as_of: date) -> str:
        return " ".join([self.dbt, *self.args.build(as_of)])

    def build(self, as_of: date) -> BuildResult:
        return run_subprocess([self.dbt, *self.args.build(as_of)], self.env, self.args.project_dir)

    def close(self) -> None:
        return None


def _dbt_runner(manifest: Any = None, callbacks: list[Callable[[Any], None]] | None = None) -> Any:
    from dbt.cli.main import dbtRunner

    return dbtRunner(manifest=manifest, callbacks=callbacks)


def _statuses(result: Any) -> dict[str, int]:
    """PASS/WARN/ERROR/... counts of a dbt run result, as dbt prints them."""
    counts: Counter[str] = Counter()
    for node in getattr(result, "results", None) or []:
        status = str(getattr(node.status, "value", node.status)).lower()
        counts[{"success": "pass", "fail": "error", "runtimeerr": "error", "skipped": "skip"}.get(status, status)] += 1
    return dict(counts)


def _release_duckdb() -> None:
    """Close the DuckDB database that dbt-duckdb keeps open for the life of the process.

    Without this, the file stays locked after the backfill, so the calling process
    could not open it again (e.g. read-only) until it exits.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    environment = getattr(DuckDBConnectionManager, "_ENV", None)
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


class InProcessBuilder:
    """dbt in this process: the project is parsed once and the manifest reused for every date."""

    def __init__(self, args: DbtArgs, env: Mapping[str, str]) -> None:
        self.args = args
        self.env = dict(env)
        self.manifest: Any = None
        self.lines: deque[str] = deque(maxlen=200)

    def describe(self, as_of: date) -> str:
        return " ".join(["dbt", *self.args.build(as_of)])

    def _record(self, event: Any) -> None:
        info = getattr(event, "info", None)
        if info is not None and getattr(info, "level", "") in ("info", "warn", "error") and info.msg:
            self.lines.append(str(info.msg))

    def _invoke(self, argv: list[str], manifest: Any = None) -> Any:
        with _environment(self.env, self.args.project_dir):
            return _dbt_runner(manifest, [self._record]).invoke([*argv, "--quiet"])

    def build(self, as_of: date) -> BuildResult:
        self.lines.clear()
        if self.manifest is None:
            parsed = self._invoke(self.args.parse())
            if not parsed.success:
                return BuildResult(2, _tail([*self.lines, str(parsed.exception or "dbt parse failed")]))
            self.manifest = parsed.result
        outcome = self._invoke(self.args.build(as_of), self.manifest)
        statuses = _statuses(outcome.result)
        if outcome.success:
            return BuildResult(0, "", statuses)
        lines = list(self.lines)
        if outcome.exception is not None:
            lines.append(str(outcome.exception))
        return BuildResult(1 if outcome.exception is None else 2, _tail(lines), statuses)

    def close(self) -> None:
        _release_duckdb()


# ---------------------------------------------------------------- the loop


def latest_history_date(duckdb_path: Path) -> date | None:
    """Newest as_of_date already in segment_history of a DuckDB file (None if there is none)."""
    if not duckdb_path.is_file():
        return None
    import duckdb

    try:
        con = duckdb.connect(str(duckdb_path), read_only=True)
    except duckdb.Error:
        return None
    try:
        rows = con.execute("select max(as_of_date) from main.segment_history").fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    value = rows[0][0] if rows else None
    return value if isinstance(value, date) else None


def _summary(statuses: Mapping[str, int]) -> str:
    order = ("pass", "warn", "error", "skip")
    parts = [f"{key.upper()}={statuses[key]}" for key in order if statuses.get(key)]
    parts += [f"{key.upper()}={count}" for key, count in sorted(statuses.items()) if key not in order and count]
    return f" ({' '.join(parts)})" if parts else ""


def run_backfill(dates: Sequence[date], builder: Builder, echo: Callable[[str], None] = click.echo) -> float:
    """Build every date in order; stop at the first failure. Returns the seconds taken."""
    started = time.perf_counter()
    width = len(str(len(dates)))
    for position, as_of in enumerate(dates, start=1):
        label = f"[{position:>{width}}/{len(dates)}] {as_of.isoformat()}"
        echo(f"{label} dbt build ...")
        began = time.perf_counter()
        result = builder.build(as_of)
        seconds = time.perf_counter() - began
        if result.returncode != 0:
            echo(_tail(result.output))
            raise BackfillError(
                f"backfill stopped at {as_of.isoformat()} ({position} of {len(dates)}): dbt build "
                f"failed with exit code {result.returncode} after {seconds:.1f}s{_summary(result.statuses)}. "
                "Dates before it are recorded; fix the cause and run the command again from this date."
            )
        echo(f"{label} ok in {seconds:.1f}s{_summary(result.statuses)}")
    return time.perf_counter() - started


def _parse_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form", param=param) from None


def _default_duckdb_path(project: Path) -> Path | None:
    """The DuckDB file the default profile points at, when the target is DuckDB."""
    if os.environ.get("SEGMENTS_TARGET", "duckdb") != "duckdb":
        return None
    configured = default_duckdb_path()
    return configured if configured.is_absolute() else project / configured


@click.command(
    "backfill",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "Example: segments backfill --start 2025-11-01 --end 2026-10-01 --every month. "
        "Arguments after -- go to every dbt build, e.g. -- --exclude tag:slow."
    ),
)
@click.option("--start", required=True, callback=_parse_date, help="First as_of_date (YYYY-MM-DD).")
@click.option("--end", required=True, callback=_parse_date, help="Last as_of_date, inclusive.")
@click.option(
    "--every",
    type=click.Choice(FREQUENCIES),
    default="month",
    show_default=True,
    help="Spacing of the dates; month and quarter keep the start's day of the month.",
)
@click.option(
    "--duckdb",
    "duckdb_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="DuckDB file to build in (sets SEGMENTS_DUCKDB_PATH for dbt).",
)
@click.option("--target", default=None, help="dbt target (default: the profile's).")
@click.option("--select", default=None, help="dbt selection (default: the whole project).")
@click.option("--vars", "vars_text", default=None, help="More dbt vars (YAML), e.g. '{segments_refit: true}'.")
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="dbt project directory (default: the working directory).",
)
@click.option(
    "--profiles-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory with profiles.yml (default: DBT_PROFILES_DIR, the project, ~/.dbt).",
)
@click.option("--unit-tests", is_flag=True, help="Also run dbt unit tests for every date.")
@click.option("--isolated", is_flag=True, help="Run each date as its own dbt subprocess (re-parses every time).")
@click.option("--dry-run", is_flag=True, help="List the dates and the dbt command, build nothing.")
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def backfill_command(
    start: date,
    end: date,
    every: str,
    duckdb_path: Path | None,
    target: str | None,
    select: str | None,
    vars_text: str | None,
    project_dir: Path | None,
    profiles_dir: Path | None,
    unit_tests: bool,
    isolated: bool,
    dry_run: bool,
    dbt_args: tuple[str, ...],
) -> None:
    """Run dbt build for each as_of_date from START to END, oldest first.

    Each date records its segments in segment_history and adds its migrations,
    transitions, drift and journey triggers. Dates that already ran are rebuilt
    identically. Stops at the first failing date.
    """
    try:
        dates = backfill_dates(start, end, every)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    variables = parse_vars(vars_text)
    project = find_project_dir(project_dir)
    profiles = find_profiles_dir(profiles_dir, project)
    args = DbtArgs(project, profiles, target, select, variables, unit_tests, dbt_args)
    env = {} if duckdb_path is None else {"SEGMENTS_DUCKDB_PATH": str(duckdb_path.resolve())}
    builder: Builder = SubprocessBuilder(args, env) if isolated else InProcessBuilder(args, env)

    click.echo(
        f"backfill: {len(dates)} date(s) every {every} from {dates[0].isoformat()} "
        f"to {dates[-1].isoformat()} in {project}"
    )
    if dry_run:
        for as_of in dates:
            click.echo(builder.describe(as_of))
        return
    history_file = duckdb_path or _default_duckdb_path(project)
    newest = latest_history_date(history_file) if history_file is not None else None
    if newest is not None and dates[0] < newest:
        click.echo(
            f"note: segment_history already reaches {newest.isoformat()}; dates before it fill "
            "gaps (migrations are re-paired), but journey triggers of later dates are not "
            "re-evaluated."
        )
    try:
        seconds = run_backfill(dates, builder)
    finally:
        builder.close()
    click.echo(f"backfill: {len(dates)} date(s) built in {seconds:.1f}s")
