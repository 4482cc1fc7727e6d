"""Rendering of plans, run summaries and status with rich (tables, progress bar)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from sync.engine import DestinationPlan, DestinationResult
from sync.secrets import redact


class RichProgress:
    """A progress bar on stderr; one task per phase of a destination."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: Any = None
        self._started = False

    def start(self, description: str, total: int | None) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def stop(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            if task.total is None:
                self._progress.update(self._task, total=task.completed)
            self._task = None

    def close(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False


def render_plan(console: Console, plans: list[DestinationPlan]) -> None:
    table = Table(title="Sync plan (dry run: nothing was sent)")
    for col in (
        "destination",
        "creates",
        "updates",
        "unchanged",
        "invalid",
        "enroll",
        "waiting for contact",
        "control (skipped)",
        "estimated API calls",
    ):
        table.add_column(col, justify="left" if col == "destination" else "right")
    for p in plans:
        calls = ", ".join(f"{k} {v}" for k, v in p.estimated_calls.items())
        table.add_row(
            p.destination,
            str(p.creates),
            str(p.updates),
            str(p.unchanged),
            str(p.invalid),
            str(p.enroll),
            str(p.enroll_waiting_for_contact),
            str(p.control),
            calls,
        )
    console.print(table)
    for p in plans:
        if p.sample:
            sample = Table(title=f"{p.destination}: sample of records to send")
            columns = list(p.sample[0].keys())
            for col in columns:
                sample.add_column(str(col))
            for row in p.sample:
                sample.add_row(*("∅" if row.get(c) is None else str(row.get(c)) for c in columns))
            console.print(sample)
        for key, reason in p.invalid_sample:
            console.print(f"{p.destination}: rejected {key!r}: {redact(reason)}", style="yellow")
        for journey, n in sorted(p.unmapped_journeys.items()):
            console.print(f"{p.destination}: journey {journey!r} has no target in the config ({n} trigger(s) ignored)")


_SUMMARY_COLUMNS = (
    ("created", "created"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("invalid", "invalid"),
    ("failed", "failed"),
    ("pending", "pending"),
    ("enrolled", "enrolled"),
    ("already", "already_enrolled"),
    ("control", "skipped_control"),
    ("enroll failed", "enroll_failed"),
    ("enroll pending", "enroll_pending"),
)


def render_results(console: Console, results: list[DestinationResult]) -> None:
    table = Table(title="Sync summary")
    table.add_column("destination")
    table.add_column("outcome")
    for label, _ in _SUMMARY_COLUMNS:
        table.add_column(label, justify="right")
    table.add_column("API calls", justify="right")
    for r in results:
        style = {"succeeded": "green", "partial": "yellow", "rate_limited": "yellow"}.get(r.outcome, "red")
        table.add_row(
            r.destination,
            Text(r.outcome, style=style),
            *(str(r.counts[name]) for _, name in _SUMMARY_COLUMNS),
            str(r.stats.total),
        )
    console.print(table)
    for r in results:
        if r.message:
            console.print(f"{r.destination}: {redact(r.message)}")
        if r.stats.retries or r.stats.rate_limited:
            console.print(
                f"{r.destination}: {r.stats.retries} retried request(s), {r.stats.rate_limited} rate-limit wait(s)"
            )
        if r.stats.renewed_logins:
            console.print(f"{r.destination}: the session expired and was renewed {r.stats.renewed_logins} time(s)")
        for f in r.failures:
            console.print(
                f"{r.destination}: {f['status']} {f['record_type']} "
                f"{f['record_key']!r} ({f['action']}): {redact(f['error'] or '')}",
                style="red",
            )
        if r.run_id:
            console.print(f"{r.destination}: run {r.run_id} (see `segments sync status`)")


# `segments sync status` shows the summary's counters but three enrollment ones.
_STATUS_COLUMNS = tuple(
    (label, name)
    for label, name in _SUMMARY_COLUMNS
    if name not in ("already_enrolled", "skipped_control", "enroll_pending")
)


def _fmt_time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def render_status(
    console: Console, runs: list[dict[str, Any]], failures: dict[str, list[dict[str, Any]]], state: list[dict[str, Any]]
) -> None:
    if not runs:
        console.print("No sync runs recorded yet.")
        return
    table = Table(title="Last sync runs")
    for col in ("run", "destination", "started (UTC)", "ended (UTC)", "outcome"):
        table.add_column(col)
    for label, _ in _STATUS_COLUMNS:
        table.add_column(label)
    table.add_column("API calls")
    for run in runs:
        outcome = run["outcome"]
        if outcome == "running" and run.get("ended_at") is None:
            outcome = "running (or killed)"
        table.add_row(
            str(run["run_id"]),
            str(run["destination"]),
            _fmt_time(run["started_at"]),
            _fmt_time(run.get("ended_at")),
            outcome,
            *(str(run.get(f"n_{name}") or 0) for _, name in _STATUS_COLUMNS),
            str(run.get("api_calls") or 0),
        )
    console.print(table)
    for run in runs:
        if run.get("message"):
            console.print(f"{run['destination']} {run['run_id']}: {redact(run['message'])}")
    for run_id, rows in failures.items():
        for f in rows:
            console.print(
                f"{run_id}: {f['status']} {f['record_type']} {f['record_key']!r}"
                f" ({f['action']}): {redact(f['error'] or '')}",
                style="red",
            )
    if state:
        confirmed = Table(title="Confirmed records in the ledger")
        for col in ("destination", "record type", "records"):
            confirmed.add_column(col)
        for row in state:
            confirmed.add_row(str(row["destination"]), str(row["record_type"]), str(row["n"]))
        console.print(confirmed)
