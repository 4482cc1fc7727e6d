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

Each build runs in its own ``dbt`` subprocess, exactly as on the command line, so
one date's adapter state or memory cannot leak into the next.
"""

from __future__ import annotations

import calendar
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import click

FREQUENCIES = ("day", "week", "month", "quarter")
_OUTPUT_TAIL_LINES = 40


class BackfillError(click.ClickException):
    """A backfill could not start or a date's build failed."""


@dataclass(frozen=True)
class BuildResult:
    """Outcome of one ``dbt build``: exit code and combined output."""

    returncode: int
    output: str


#: Runs one dbt command (argv, environment, working directory) and reports its result.
Runner = Callable[[list[str], dict[str, str], Path], BuildResult]


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


def dbt_executable() -> str:
    """The dbt next to this Python interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    if beside.is_file():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise BackfillError("dbt is not installed: no dbt next to this Python and none on PATH")
    return found


def build_command(
    dbt: str,
    as_of: date,
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    select: str | None,
    extra_args: Sequence[str],
) -> list[str]:
    """The ``dbt build`` argv for one date."""
    command = [dbt, "build", "--project-dir", str(project_dir)]
    if profiles_dir is not None:
        command += ["--profiles-dir", str(profiles_dir)]
    if target:
        command += ["--target", target]
    if select:
        command += ["--select", select]
    command += ["--vars", json.dumps({"as_of_date": as_of.isoformat()})]
    command += list(extra_args)
    return command


def run_subprocess(command: list[str], env: dict[str, str], cwd: Path) -> BuildResult:
    """Run one dbt command and capture its output."""
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return BuildResult(completed.returncode, completed.stdout + completed.stderr)


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


def _tail(text: str, lines: int = _OUTPUT_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_backfill(
    dates: Sequence[date],
    command_for: Callable[[date], list[str]],
    env: dict[str, str],
    cwd: Path,
    runner: Runner = run_subprocess,
    echo: Callable[[str], None] = click.echo,
) -> float:
    """Build every date in order; stop at the first failure. Returns the seconds taken."""
    started = time.perf_counter()
    width = len(str(len(dates)))
    for position, as_of in enumerate(dates, start=1):
        label = f"[{position:>{width}}/{len(dates)}] {as_of.isoformat()}"
        echo(f"{label} dbt build ...")
        began = time.perf_counter()
        result = runner(command_for(as_of), env, cwd)
        seconds = time.perf_counter() - began
        if result.returncode != 0:
            echo(_tail(result.output))
            raise BackfillError(
                f"backfill stopped at {as_of.isoformat()} ({position} of {len(dates)}): dbt build "
                f"exited with {result.returncode} after {seconds:.1f}s. Dates before it are "
                "recorded; fix the cause and run the command again from this date."
            )
        echo(f"{label} ok in {seconds:.1f}s")
    return time.perf_counter() - started


def _parse_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form", param=param) from None


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
@click.option("--dry-run", is_flag=True, help="List the dates and the dbt command, build nothing.")
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def backfill_command(
    start: date,
    end: date,
    every: str,
    duckdb_path: Path | None,
    target: str | None,
    select: str | None,
    project_dir: Path | None,
    profiles_dir: Path | None,
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
    project = find_project_dir(project_dir)
    profiles = find_profiles_dir(profiles_dir, project)
    dbt = "dbt" if dry_run else dbt_executable()
    env = dict(os.environ)
    if duckdb_path is not None:
        env["SEGMENTS_DUCKDB_PATH"] = str(duckdb_path.resolve())

    def command_for(as_of: date) -> list[str]:
        return build_command(dbt, as_of, project, profiles, target, select, dbt_args)

    click.echo(
        f"backfill: {len(dates)} date(s) every {every} from {dates[0].isoformat()} "
        f"to {dates[-1].isoformat()} in {project}"
    )
    if dry_run:
        for as_of in dates:
            click.echo(" ".join(command_for(as_of)))
        return
    history_file = duckdb_path or _default_duckdb_path(env, project)
    newest = latest_history_date(history_file) if history_file is not None else None
    if newest is not None and dates[0] < newest:
        click.echo(
            f"note: segment_history already reaches {newest.isoformat()}; dates before it fill "
            "gaps (migrations are re-paired), but journey triggers of later dates are not "
            "re-evaluated."
        )
    seconds = run_backfill(dates, command_for, env, project, runner=run_subprocess)
    click.echo(f"backfill: {len(dates)} date(s) built in {seconds:.1f}s")


def _default_duckdb_path(env: dict[str, str], project: Path) -> Path | None:
    """The DuckDB file the default profile points at, when the target is DuckDB."""
    if env.get("SEGMENTS_TARGET", "duckdb") != "duckdb":
        return None
    configured = Path(env.get("SEGMENTS_DUCKDB_PATH", ".data/segments.duckdb"))
    return configured if configured.is_absolute() else project / configured
