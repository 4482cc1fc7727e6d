"""Turn the collected report data into one self-contained HTML page.

The page inlines plotly.js once in its head, and every figure is a ``<div>`` plus a
``Plotly.newPlot`` call, so the file opens offline, from an e-mail attachment or a
shared drive, with nothing fetched. The HTML itself comes from a Jinja2 template
(auto-escaped: segment names come from the warehouse and a name override seed).
Tables are handed to the template as already formatted strings so that every number
on the page is formatted in one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from typing import Any

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from segmentation.report import figures
from segmentation.report.data import (
    Drift,
    ModelInfo,
    Projection,
    ReportData,
    RfmSection,
    SegmentProfile,
    Transitions,
    ViewSection,
)
from segmentation.report.labels import format_int, format_number, format_share
from segmentation.report.source import Missing

PLOT_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


@dataclass(frozen=True)
class Table:
    """A formatted table: header, rows of strings, and which columns are numbers."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    row_classes: list[str] = field(default_factory=list)
    nowrap: list[bool] = field(default_factory=list)
    css: str = ""


@dataclass
class Figures:
    """Collects figures as JSON; ids are deterministic so tests and links can find them.

    Each figure becomes an empty ``<div>`` plus its JSON in a
    ``<script type="application/json">`` block; one script at the end of the page draws
    them all once the document is laid out. Drawing while the page is still being
    parsed would size a plot before its neighbours in the same grid row exist.
    """

    divs: dict[str, Markup] = field(default_factory=dict)

    def add(self, fig_id: str, build: Callable[[], go.Figure]) -> Markup:
        fig = build()
        payload = pio.to_json(fig, validate=False, remove_uids=True)
        # JSON can only hold these characters inside strings, where \u escapes mean the
        # same; escaping them means no data value can close the script element.
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        height = int(fig.layout.height or 400)
        markup = Markup(
            f'<figure class="plot" data-figure="{fig_id}">'
            f'<div id="{fig_id}" class="plotly-graph-div" style="height:{height}px;width:100%"></div>'
            f'<script type="application/json" data-figure-json="{fig_id}">{payload}</script>'
            "</figure>"
        )
        self.divs[fig_id] = markup
        return markup


# --------------------------------------------------------------------------- tables


def _cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        if pd.isna(value):
            return "–"
    except (TypeError, ValueError):
        pass
    if kind == "int":
        return format_int(value)
    if kind == "share":
        return format_share(float(value), 2)
    if kind == "share1":
        return format_share(float(value), 1)
    if kind == "float":
        return format_number(float(value), 3)
    if kind == "float1":
        return format_number(float(value), 1)
    if kind == "date":
        return str(pd.Timestamp(value).date())
    if kind == "datetime":
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def frame_table(frame: pd.DataFrame, spec: Sequence[tuple[str, str, str]]) -> Table:
    """Format ``frame`` columns per ``spec`` = (column, header, kind); absent columns skip."""
    present = [(c, h, k) for c, h, k in spec if c in frame.columns]
    rows = [[_cell(rec[c], k) for c, _, k in present] for rec in frame.to_dict("records")]
    return Table(
        columns=[h for _, h, _ in present],
        rows=rows,
        numeric=[k in {"int", "share", "share1", "float", "float1"} for _, _, k in present],
        nowrap=[k in {"date", "datetime"} for _, _, k in present],
    )


FLAGGED_ACTIONS = ("excluded", "warning")
"""data_quality actions that point at a problem in the data; the warn share applies to them only."""


def data_quality_table(frame: pd.DataFrame, warn_share: float) -> Table:
    table = frame_table(
        frame,
        [
            ("table_name", "table", "text"),
            ("reason", "reason", "text"),
            ("detail", "value", "text"),
            ("action", "what happens", "text"),
            ("row_count", "rows", "int"),
            ("table_rows", "rows in table", "int"),
            ("share", "share", "share"),
        ],
    )
    classes = []
    for share, rows, action in zip(frame["share"], frame["row_count"], frame["action"], strict=True):
        flagged = action in FLAGGED_ACTIONS
        if flagged and share is not None and not pd.isna(share) and float(share) > warn_share:
            classes.append("warn")
        elif not rows or not flagged:
            classes.append("quiet")
        else:
            classes.append("")
    return replace(table, row_classes=classes)


def contract_exclusions(frame: pd.DataFrame) -> int:
    """Raw rows excluded because they break the input contract (not lines filtered by status or date)."""
    return int(frame.loc[frame["action"] == "excluded", "row_count"].sum())


def rfm_table(rfm: RfmSection) -> Table:
    table = frame_table(
        rfm.segments,
        [
            ("rfm_segment", "RFM segment", "text"),
            ("customers", "customers", "int"),
            ("share", "share", "share1"),
            ("recency_days", "days since order", "int"),
            ("frequency", "orders", "float1"),
            ("monetary_total", "revenue", "int"),
            ("revenue_share", "revenue share", "share1"),
            ("action", "suggested action", "text"),
        ],
    )
    return replace(table, css="actions")


def model_facts(model: ModelInfo) -> list[tuple[str, str]]:
    facts = [
        ("algorithm", model.algorithm),
        ("segments (k)", str(model.k)),
        ("model version", str(model.model_version)),
        ("fitted at", model.fitted_at.strftime("%Y-%m-%d %H:%M") if model.fitted_at else "–"),
        ("trained on data as of", str(model.training_as_of_date or "–")),
        ("why fitted", model.fit_reason or "–"),
        ("customers / training sample", f"{format_int(model.n_customers)} / {format_int(model.n_train)}"),
        ("silhouette", format_number(model.silhouette, 3)),
        ("Calinski–Harabasz", format_number(model.calinski_harabasz, 1)),
        ("Davies–Bouldin", format_number(model.davies_bouldin, 3)),
        ("bootstrap stability (ARI)", format_number(model.stability_ari, 3)),
    ]
    if model.k_rule:
        rule = model.k_rule + (f": {model.k_reason}" if model.k_reason else "")
        facts.append(("how k was chosen", rule))
    return facts


def model_versions_table(frame: pd.DataFrame) -> Table:
    return frame_table(
        frame,
        [
            ("model_version", "version", "int"),
            ("algorithm", "algorithm", "text"),
            ("k", "k", "int"),
            ("fitted_at", "fitted at", "datetime"),
            ("training_as_of_date", "trained as of", "date"),
            ("fit_reason", "why", "text"),
            ("n_customers", "customers", "int"),
            ("silhouette", "silhouette", "float"),
            ("stability_ari", "stability", "float"),
            ("max_drift_psi", "max drift PSI", "float"),
        ],
    )


def sync_runs_table(frame: pd.DataFrame) -> Table:
    spec = [
        ("started_at", "started", "datetime"),
        ("destination", "destination", "text"),
        ("outcome", "outcome", "text"),
        ("n_created", "created", "int"),
        ("n_updated", "updated", "int"),
        ("n_unchanged", "unchanged", "int"),
        ("n_invalid", "invalid", "int"),
        ("n_failed", "failed", "int"),
        ("n_enrolled", "enrolled", "int"),
        ("api_calls", "API calls", "int"),
        ("message", "message", "text"),
    ]
    table = frame_table(frame, spec)
    classes = []
    for rec in frame.to_dict("records"):
        outcome = str(rec.get("outcome") or "")
        failed = rec.get("n_failed")
        bad = outcome not in {"succeeded", "success", "ok", "completed"} or bool(
            failed and not pd.isna(failed) and int(failed) > 0
        )
        classes.append("warn" if bad else "")
    return replace(table, row_classes=classes)


def sync_state_table(frame: pd.DataFrame) -> Table:
    return frame_table(
        frame,
        [
            ("destination", "destination", "text"),
            ("record_type", "record type", "text"),
            ("records", "records confirmed", "int"),
            ("last_confirmed", "last confirmed", "datetime"),
        ],
    )


# --------------------------------------------------------------------------- view blocks


@dataclass(frozen=True)
class Card:
    profile: SegmentProfile
    colour: str


def _transition_plots(figs: Figures, prefix: str, transitions: Transitions, names: dict[int, str]) -> dict[str, Any]:
    """The migration matrix and flow chart of ``transitions``, as template context."""
    return {
        "transitions": transitions,
        "matrix_plot": figs.add(f"{prefix}-transitions", lambda: figures.transition_matrix_figure(transitions, names)),
        "sankey_plot": figs.add(f"{prefix}-sankey", lambda: figures.sankey_figure(transitions, names)),
    }


def view_context(section: ViewSection, figs: Figures) -> dict[str, Any]:
    v = section.view
    ctx: dict[str, Any] = {
        "view": v,
        "title": section.title,
        "anchor": f"view-{v}",
        "notes": {},
    }
    model = section.model
    if isinstance(model, ModelInfo):
        ctx["facts"] = model_facts(model)
        if model.candidates:
            ctx["k_plot"] = figs.add(f"fig-{v}-k", lambda: figures.k_selection_figure(model))
        else:
            ctx["notes"]["k"] = (
                f"no k sweep stored for this model ({model.k_rule or 'fixed k'}): k-selection curves need automatic k"
            )
    else:
        ctx["notes"]["model"] = model.message
        ctx["notes"]["k"] = model.message
    profiles = section.profiles
    if isinstance(profiles, list):
        colours = figures.segment_colours([p.segment_id for p in profiles])
        ctx["sizes_plot"] = figs.add(f"fig-{v}-sizes", lambda: figures.sizes_figure(profiles))
        ctx["heatmap_plot"] = figs.add(f"fig-{v}-profiles", lambda: figures.profile_heatmap_figure(profiles))
        ctx["cards"] = [Card(p, colours[p.segment_id]) for p in profiles]
        names = {**section.names, **{p.segment_id: p.name for p in profiles}}
    else:
        ctx["notes"]["profiles"] = profiles.message
        names = dict(section.names)
    projection = section.projection
    if isinstance(projection, Projection):
        ctx["projection_plot"] = figs.add(f"fig-{v}-projection", lambda: figures.projection_figure(projection, names))
        ctx["projection"] = projection
    else:
        ctx["notes"]["projection"] = projection.message
    history = section.size_history
    if isinstance(history, pd.DataFrame) and history["as_of_date"].nunique() >= 2:
        ctx["history_plot"] = figs.add(f"fig-{v}-history", lambda: figures.size_history_figure(history, names))
    transitions = section.transitions
    if isinstance(transitions, Transitions) and not transitions.matrix.empty:
        ctx.update(_transition_plots(figs, f"fig-{v}", transitions, names))
    elif isinstance(transitions, Missing):
        ctx["notes"]["transitions"] = transitions.message
    drift = section.drift
    if isinstance(drift, Drift):
        ctx["drift_plot"] = figs.add(f"fig-{v}-drift", lambda: figures.drift_figure(drift))
        ctx["drift_source"] = drift.source
        if drift.frame["date"].nunique() >= 2:
            ctx["drift_history_plot"] = figs.add(f"fig-{v}-drift-history", lambda: figures.drift_history_figure(drift))
    else:
        ctx["notes"]["drift"] = drift.message
    versions = section.model_versions
    if isinstance(versions, pd.DataFrame) and not versions.empty:
        ctx["versions"] = model_versions_table(versions)
    return ctx


# --------------------------------------------------------------------------- page


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["int"] = format_int
    env.filters["share"] = format_share
    env.filters["num"] = format_number
    return env


def _load_template(name: str) -> str:
    return (resources.files("segmentation.report") / "templates" / name).read_text("utf-8")


def render_html(data: ReportData, *, dq_warn_share: float = 0.05) -> str:
    figs = Figures()
    overview = data.overview
    rfm_ctx: dict[str, Any] = {}
    if isinstance(data.rfm, RfmSection):
        rfm = data.rfm
        rfm_ctx = {
            "grid_plot": figs.add("fig-rfm-grid", lambda: figures.rfm_grid_figure(rfm)),
            "table": rfm_table(rfm),
        }
        moves = rfm.transitions
        if isinstance(moves, Transitions) and not moves.matrix.empty:
            rfm_ctx.update(_transition_plots(figs, "fig-rfm", moves, moves.names))
        elif isinstance(moves, Missing):
            rfm_ctx["transitions_note"] = moves.message
    dq = data.data_quality
    views = [view_context(section, figs) for section in data.views]
    views_missing: str | None = None
    if not data.views:
        views_missing = Missing("segment_assignments").message
    sync_runs = data.sync.runs
    sync_state = data.sync.state
    context = {
        "overview": overview,
        "title": _title(overview.as_of_date),
        "plotly_js": Markup(get_plotlyjs()),
        "dq_table": data_quality_table(dq, dq_warn_share) if isinstance(dq, pd.DataFrame) else None,
        "dq_note": dq.message if isinstance(dq, Missing) else None,
        "dq_warn_share": dq_warn_share,
        "dq_clean": isinstance(dq, pd.DataFrame) and contract_exclusions(dq) == 0,
        "dq_excluded": contract_exclusions(dq) if isinstance(dq, pd.DataFrame) else 0,
        "rfm": rfm_ctx,
        "rfm_note": data.rfm.message if isinstance(data.rfm, Missing) else None,
        "views": views,
        "views_missing": views_missing,
        "sync_runs": sync_runs_table(sync_runs) if isinstance(sync_runs, pd.DataFrame) else None,
        "sync_runs_note": sync_runs.message if isinstance(sync_runs, Missing) else None,
        "sync_state": sync_state_table(sync_state) if isinstance(sync_state, pd.DataFrame) else None,
        "sync_state_note": sync_state.message if isinstance(sync_state, Missing) else None,
        "figure_ids": list(figs.divs),
        "plot_config": Markup(json.dumps(PLOT_CONFIG)),
    }
    template = _environment().get_template("report.html.j2")
    return template.render(**context)


def _title(as_of: date | None) -> str:
    return f"Customer segments as of {as_of}" if as_of else "Customer segments"
