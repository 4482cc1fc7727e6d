"""The short terminal summary printed at the end of ``make demo``.

It answers the three questions a person has after a run: which segments came out
(per view, with sizes and names), where the results are (the report file and the
DuckDB file), and what the next ``segments sync run`` would send to the CRM. It reads
only aggregates, so it takes well under a second at any size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from segmentation.report.build import DEFAULT_REPORT_DIR, default_report_path
from segmentation.report.data import VIEW_TITLES, current_as_of_date, in_rfm_order, in_view_order
from segmentation.report.source import DEFAULT_SCHEMA, Missing, Source

DEFAULT_SYNC_CONFIG = Path("sync.yml")


@dataclass(frozen=True)
class ViewSummary:
    view: str
    algorithm: str | None
    k: int | None
    model_version: int | None
    segments: pd.DataFrame  # segment_id, segment_name, customers, share


@dataclass(frozen=True)
class PlanLine:
    destination: str
    text: str


@dataclass(frozen=True)
class Summary:
    duckdb_path: Path
    as_of_date: date | None
    customers: int | None
    views: list[ViewSummary]
    views_missing: Missing | None
    rfm: pd.DataFrame | Missing
    report_path: Path
    report_exists: bool
    sync_plan: list[PlanLine] = field(default_factory=list)
    sync_note: str | None = None
    sync_config: Path | None = None


def _views(src: Source, as_of: date | None) -> tuple[list[ViewSummary], Missing | None]:
    missing = src.check("segment_assignments", ["view", "as_of_date", "segment_id", "segment_name"])
    if missing:
        return [], missing
    frame = src.frame(
        f"select view, segment_id, any_value(segment_name) as segment_name, count(*) as customers "
        f"from {src.qualified('segment_assignments')} where as_of_date = ? "
        "group by view, segment_id",
        [as_of],
    )
    models: dict[str, tuple[Any, Any, Any]] = {}
    if src.check("segment_models", ["view", "algorithm", "k", "model_version"]) is None:
        for view, algorithm, k, version in src.rows(
            f"select view, arg_max(algorithm, model_version), arg_max(k, model_version), "
            f"max(model_version) from {src.qualified('segment_models')} group by view"
        ):
            models[str(view)] = (algorithm, k, version)
    out = []
    for view in in_view_order(frame["view"]):
        part = frame[frame["view"] == view].sort_values(["customers", "segment_id"], ascending=[False, True])
        total = part["customers"].sum()
        part = part.assign(share=part["customers"] / total if total else 0.0)
        algorithm, k, version = models.get(view, (None, None, None))
        out.append(
            ViewSummary(
                view=view,
                algorithm=str(algorithm) if algorithm is not None else None,
                k=int(k) if k is not None else None,
                model_version=int(version) if version is not None else None,
                segments=part.reset_index(drop=True),
            )
        )
    return out, None


def _rfm(src: Source) -> pd.DataFrame | Missing:
    missing = src.check("customer_rfm", ["rfm_segment"])
    if missing:
        return missing
    return in_rfm_order(
        src.frame(f"select rfm_segment, count(*) as customers from {src.qualified('customer_rfm')} group by 1")
    )


def sync_plan(duckdb_path: Path, config_path: Path) -> tuple[list[PlanLine], str | None]:
    """What ``segments sync plan`` would report, via the sync package's own plan API.

    Returns plan lines, or a note saying why there is no plan (no config file, no sync
    package, a configuration error). Never raises: the summary must print even when
    the CRM side is not set up.
    """
    if not config_path.exists():
        return [], (
            f"not configured: no {config_path} (copy sync.example.yml to {config_path} and run `segments sync plan`)"
        )
    try:
        from sync.config import load_config
        from sync.engine import Engine
        from sync.warehouse import DuckDBWarehouse
    except ImportError as exc:
        return [], f"not available: the sync package cannot be imported ({exc})"
    try:
        config = load_config(config_path)
        warehouse = DuckDBWarehouse(duckdb_path, read_only=True)
    except Exception as exc:  # a config error must not hide the rest of the summary
        return [], f"not available: {_first_line(exc)}"
    lines: list[PlanLine] = []
    try:
        engine = Engine(config, warehouse)
        for dest in config.selected(None):
            try:
                plan = engine.plan(dest)
            except Exception as exc:
                lines.append(PlanLine(dest.name, f"cannot plan: {_first_line(exc)}"))
                continue
            lines.append(PlanLine(dest.name, _plan_text(plan)))
    finally:
        warehouse.close()
    if not lines:
        return [], f"no enabled destination in {config_path}"
    return lines, None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _plan_text(plan: Any) -> str:
    parts = [
        f"{getattr(plan, 'creates', 0):,} to create",
        f"{getattr(plan, 'updates', 0):,} to update",
        f"{getattr(plan, 'unchanged', 0):,} unchanged",
    ]
    if getattr(plan, "invalid", 0):
        parts.append(f"{plan.invalid:,} invalid")
    enroll = getattr(plan, "enroll", 0)
    control = getattr(plan, "control", 0)
    if enroll or control:
        parts.append(f"{enroll:,} journey enrollments ({control:,} held out as control)")
    unmapped = getattr(plan, "unmapped_journeys", None) or {}
    if unmapped:
        parts.append(f"{sum(unmapped.values()):,} triggers of {len(unmapped)} journeys with no target in the config")
    return ", ".join(parts)


def collect_summary(
    duckdb_path: Path,
    *,
    schema: str = DEFAULT_SCHEMA,
    report: Path | None = None,
    sync_config: Path = DEFAULT_SYNC_CONFIG,
) -> Summary:
    with Source(duckdb_path, schema=schema) as src:
        as_of = current_as_of_date(src)
        views, views_missing = _views(src, as_of)
        rfm = _rfm(src)
        customers = None
        if isinstance(rfm, pd.DataFrame):
            customers = int(rfm["customers"].sum())
        elif src.has("customer_rfm"):  # no rfm_segment column, so no cells to add up
            customers = int(src.scalar(f"select count(*) from {src.qualified('customer_rfm')}") or 0)
    report_path = report or default_report_path(as_of, DEFAULT_REPORT_DIR)
    plan, note = sync_plan(duckdb_path, sync_config)
    return Summary(
        duckdb_path=duckdb_path.resolve(),
        as_of_date=as_of,
        customers=customers,
        views=views,
        views_missing=views_missing,
        rfm=rfm,
        report_path=report_path,
        report_exists=report_path.exists(),
        sync_plan=plan,
        sync_note=note,
        sync_config=sync_config,
    )


def _view_table(view: ViewSummary) -> Table:
    model = []
    if view.algorithm:
        model.append(view.algorithm)
    if view.k is not None:
        model.append(f"k={view.k}")
    if view.model_version is not None:
        model.append(f"model v{view.model_version}")
    title = Text.assemble((VIEW_TITLES.get(view.view, view.view), "bold"), ("  " + " · ".join(model), "dim"))
    table = Table(title=title, title_justify="left", box=None, pad_edge=False, expand=False)
    table.add_column("id", justify="right", style="dim")
    table.add_column("segment", overflow="fold", max_width=60)
    table.add_column("customers", justify="right")
    table.add_column("share", justify="right")
    for rec in view.segments.to_dict("records"):
        table.add_row(
            str(int(rec["segment_id"])),
            str(rec["segment_name"]),
            f"{int(rec['customers']):,}",
            f"{float(rec['share']):.1%}",
        )
    return table


def render_summary(summary: Summary, console: Console) -> None:
    """Print the summary with rich (plain text when the output is not a terminal)."""
    head = Text.assemble(
        ("Customer segments", "bold"),
        f" as of {summary.as_of_date or '–'}",
        (f" · {summary.customers:,} customers in scope" if summary.customers is not None else ""),
    )
    parts: list[Any] = [head, Text("")]
    if summary.views_missing is not None:
        parts.append(Text(summary.views_missing.message, style="yellow"))
    for view in summary.views:
        parts.append(_view_table(view))
        parts.append(Text(""))
    if isinstance(summary.rfm, pd.DataFrame) and not summary.rfm.empty:
        total = int(summary.rfm["customers"].sum())
        cells = " · ".join(
            f"{rec['rfm_segment']} {int(rec['customers']):,} ({int(rec['customers']) / total:.0%})"
            for rec in summary.rfm.to_dict("records")
        )
        parts.append(Text.assemble(("RFM cells  ", "bold"), cells))
    elif isinstance(summary.rfm, Missing):
        parts.append(Text(summary.rfm.message, style="yellow"))
    parts.append(Text(""))
    where = Table.grid(padding=(0, 2))
    where.add_column(style="bold")
    where.add_column(overflow="fold")
    report_text = (
        Text(str(summary.report_path.resolve()))
        if summary.report_exists
        else Text.assemble((str(summary.report_path), ""), (" (not built yet: run `segments report`)", "yellow"))
    )
    where.add_row("Report", report_text)
    where.add_row("DuckDB", str(summary.duckdb_path))
    if summary.sync_plan:
        plan = Table.grid(padding=(0, 1))
        plan.add_column(style="cyan")
        plan.add_column(overflow="fold")
        for line in summary.sync_plan:
            plan.add_row(line.destination, line.text)
        if summary.sync_config is not None:
            plan.add_row("", Text(f"dry run with {summary.sync_config}; nothing was sent", style="dim"))
        where.add_row("Sync plan", plan)
    else:
        where.add_row("Sync plan", Text(summary.sync_note or "–", style="yellow"))
    parts.append(where)
    console.print(Panel(Group(*parts), title="segments summary", title_align="left", expand=False))
