"""Build the report file: read the warehouse, render, write atomically."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from segmentation.report.data import ReportData, collect
from segmentation.report.render import render_html
from segmentation.report.source import DEFAULT_SCHEMA, DEFAULT_SYNC_SCHEMA, Missing, Source

DEFAULT_REPORT_DIR = Path("reports")


@dataclass(frozen=True)
class ReportResult:
    path: Path
    as_of_date: date | None
    bytes: int
    seconds_reading: float
    seconds_rendering: float
    missing: tuple[str, ...]
    data: ReportData

    @property
    def seconds(self) -> float:
        return self.seconds_reading + self.seconds_rendering


def default_report_path(as_of: date | None, directory: Path = DEFAULT_REPORT_DIR) -> Path:
    """``reports/segments_<as_of>.html`` (``segments_latest.html`` before any segmentation)."""
    return directory / f"segments_{as_of.isoformat() if as_of else 'latest'}.html"


def missing_notes(data: ReportData) -> tuple[str, ...]:
    """Every "not available" note the page shows, for the command's own output."""
    notes: list[str] = []

    def add(value: object) -> None:
        if isinstance(value, Missing) and value.message not in notes:
            notes.append(value.message)

    add(data.data_quality)
    add(data.rfm)
    if not isinstance(data.rfm, Missing):
        add(data.rfm.transitions)
    if not data.views:
        reason = data.overview.empty_reason
        detail = reason.removeprefix("no customer is in scope: ") if reason else None
        add(Missing("segment_assignments", f"is empty: {detail}") if detail else Missing("segment_assignments"))
    for view in data.views:
        for value in (
            view.model,
            view.profiles,
            view.projection,
            view.transitions,
            view.drift,
            view.model_versions,
        ):
            add(value)
    add(data.sync.runs)
    add(data.sync.state)
    return tuple(notes)


def _write_atomically(path: Path, text: str) -> int:
    """Write via a temporary file and rename, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(payload)


def build_report(
    duckdb_path: Path,
    out: Path | None = None,
    *,
    schema: str = DEFAULT_SCHEMA,
    sync_schema: str = DEFAULT_SYNC_SCHEMA,
    projection_sample: int = 5000,
    report_dir: Path = DEFAULT_REPORT_DIR,
) -> ReportResult:
    """Render the report of the warehouse at ``duckdb_path`` into one HTML file.

    ``out`` defaults to ``<report_dir>/segments_<as_of_date>.html``.
    """
    if projection_sample < 10:
        raise ValueError(f"projection_sample must be at least 10, got {projection_sample}")
    started = time.perf_counter()
    with Source(duckdb_path, schema=schema, sync_schema=sync_schema) as src:
        data = collect(src, projection_sample=projection_sample)
    read_done = time.perf_counter()
    html = render_html(data)
    target = out or default_report_path(data.overview.as_of_date, report_dir)
    size = _write_atomically(target, html)
    finished = time.perf_counter()
    return ReportResult(
        path=target,
        as_of_date=data.overview.as_of_date,
        bytes=size,
        seconds_reading=read_done - started,
        seconds_rendering=finished - read_done,
        missing=missing_notes(data),
        data=data,
    )
