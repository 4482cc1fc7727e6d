"""Plotly figures for the report, one builder per picture.

Builders are pure: they take the records of :mod:`segmentation.report.data` and return
a ``plotly.graph_objects.Figure``; no builder reads the warehouse. A small shared
template keeps every figure in one visual language (and keeps the HTML small: the
stock templates would repeat kilobytes of styling in every figure). Every plot is
SVG (no WebGL), so it renders the same in a laptop browser and in headless Chromium
without a GPU.

Segment colours are fixed per view by segment id, so a segment keeps its colour from
the size bars to the scatter, the flow chart and its card.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmentation.report.data import (
    OUTLIER_SEGMENT_ID,
    Drift,
    ModelInfo,
    Projection,
    RfmSection,
    SegmentProfile,
    Transitions,
)
from segmentation.report.labels import feature_label, format_feature_value

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
ACCENT = "#2f6fde"
PALETTE: tuple[str, ...] = (
    "#2f6fde",
    "#e8743b",
    "#19a979",
    "#c2475f",
    "#8e6bd1",
    "#d4a20b",
    "#13a4b4",
    "#7a5c3e",
    "#e3679f",
    "#5f7d1e",
    "#3c4dbe",
    "#b5523b",
)
OUTLIER_COLOUR = "#9aa5b1"
DIVERGING = [
    [0.0, "#2166ac"],
    [0.25, "#92c5de"],
    [0.5, "#f7f7f7"],
    [0.75, "#f4a582"],
    [1.0, "#b2182b"],
]
SEQUENTIAL = [[0.0, "#f0f4fb"], [0.5, "#7da7e8"], [1.0, "#1d4fa8"]]
Z_LIMIT = 2.5

TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": FONT, "size": 12, "color": INK},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(PALETTE),
        "hoverlabel": {"font": {"family": FONT}, "align": "left"},
        "margin": {"l": 10, "r": 10, "t": 36, "b": 10},
        "xaxis": {
            "gridcolor": GRID,
            "zerolinecolor": GRID,
            "linecolor": "#cbd2d9",
            "automargin": True,
            "title": {"standoff": 8},
        },
        "yaxis": {
            "gridcolor": GRID,
            "zerolinecolor": GRID,
            "linecolor": "#cbd2d9",
            "automargin": True,
            "title": {"standoff": 8},
        },
        "legend": {"bgcolor": "rgba(255,255,255,0.85)"},
        "title": {"font": {"size": 14}, "x": 0.0, "xanchor": "left"},
    }
)


def _esc(text: object) -> str:
    """Plotly renders a small HTML subset in labels: escape names that come from data."""
    return html.escape(str(text), quote=False)


def _short(text: str, width: int = 38) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip(" ,") + "…"


def segment_colours(segment_ids: Sequence[int]) -> dict[int, str]:
    """A stable colour per segment id (the outlier segment is grey)."""
    colours: dict[int, str] = {}
    for seg in sorted(set(int(s) for s in segment_ids)):
        if seg == OUTLIER_SEGMENT_ID:
            colours[seg] = OUTLIER_COLOUR
        else:
            colours[seg] = PALETTE[(seg - 1) % len(PALETTE)]
    return colours


def segment_label(segment_id: int, names: Mapping[int, str], width: int = 38) -> str:
    name = names.get(segment_id, f"Segment {segment_id}")
    return _esc(_short(f"{segment_id} · {name}", width))


def _base(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(template=TEMPLATE, height=height)
    if title:
        fig.update_layout(title_text=_esc(title))
    return fig


# --------------------------------------------------------------------------- views


def k_selection_figure(model: ModelInfo) -> go.Figure:
    """Silhouette, Calinski–Harabasz and Davies–Bouldin against k, chosen k marked."""
    cands = model.candidates
    metrics = (
        ("silhouette", "Silhouette (higher is better)"),
        ("calinski_harabasz", "Calinski–Harabasz (higher is better)"),
        ("davies_bouldin", "Davies–Bouldin (lower is better)"),
    )
    fig = make_subplots(rows=1, cols=3, subplot_titles=[m[1] for m in metrics], horizontal_spacing=0.08)
    ks = [c.k for c in cands]
    for col, (attr, title) in enumerate(metrics, start=1):
        values = [getattr(c, attr) for c in cands]
        fig.add_trace(
            go.Scatter(
                x=ks,
                y=values,
                mode="lines+markers",
                line={"color": ACCENT, "width": 2},
                marker={
                    "size": 9,
                    "color": [ACCENT if c.admissible else "white" for c in cands],
                    "line": {"color": ACCENT, "width": 2},
                },
                customdata=[
                    [
                        "admissible" if c.admissible else "smallest segment too small",
                        c.smallest_share if c.smallest_share is not None else float("nan"),
                    ]
                    for c in cands
                ],
                hovertemplate=(
                    "k=%{x}<br>" + title.split(" (")[0] + ": %{y:.3f}<br>%{customdata[0]}"
                    "<br>smallest segment: %{customdata[1]:.1%}<extra></extra>"
                ),
                showlegend=False,
                name=title,
            ),
            row=1,
            col=col,
        )
        fig.add_vline(
            x=model.k,
            line={"color": "#c2475f", "dash": "dash", "width": 1.5},
            layer="below",
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="k", dtick=1, row=1, col=col)
    fig.update_annotations(font={"size": 12})
    fig = _base(fig, 300)
    fig.update_layout(margin={"t": 40})
    return fig


def sizes_figure(profiles: Sequence[SegmentProfile]) -> go.Figure:
    ordered = sorted(profiles, key=lambda p: p.size)
    colours = segment_colours([p.segment_id for p in profiles])
    names = {p.segment_id: p.name for p in profiles}
    fig = go.Figure(
        go.Bar(
            x=[p.size for p in ordered],
            y=[segment_label(p.segment_id, names, 44) for p in ordered],
            orientation="h",
            marker={"color": [colours[p.segment_id] for p in ordered]},
            text=[f"{p.size:,} · {p.share:.1%}" for p in ordered],
            textposition="auto",
            hovertemplate="%{y}<br>%{x:,} customers<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="customers")
    return _base(fig, max(180, 34 * len(ordered) + 70))


def profile_heatmap_figure(profiles: Sequence[SegmentProfile]) -> go.Figure:
    """Segments × features, coloured by z-score (clipped at ±2.5 so one outlier does not
    wash out the rest); hover shows the segment mean in the feature's unit."""
    features = sorted({f for p in profiles for f in p.z_scores})
    # features in the order of how strongly they separate segments
    spread = {f: max((abs(p.z_scores.get(f) or 0.0) for p in profiles), default=0.0) for f in features}
    features.sort(key=lambda f: (-spread[f], f))
    names = {p.segment_id: p.name for p in profiles}
    rows = list(profiles)
    z = np.array(
        [[(p.z_scores.get(f) if p.z_scores.get(f) is not None else np.nan) for f in features] for p in rows],
        dtype=float,
    )
    text = [["" if np.isnan(v) else f"{v:+.1f}" for v in row] for row in z]
    hover = [
        [
            f"{_esc(p.name)}<br>{_esc(feature_label(f))}<br>mean {format_feature_value(f, p.means.get(f))}"
            f"<br>z {'' if np.isnan(z[i, j]) else f'{z[i, j]:+.2f}'}"
            for j, f in enumerate(features)
        ]
        for i, p in enumerate(rows)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=np.clip(z, -Z_LIMIT, Z_LIMIT),
            x=[_esc(_short(feature_label(f, short=True), 26)) for f in features],
            y=[segment_label(p.segment_id, names, 34) for p in rows],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 10},
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=DIVERGING,
            zmin=-Z_LIMIT,
            zmax=Z_LIMIT,
            zmid=0,
            colorbar={"title": {"text": "z"}, "thickness": 12},
            xgap=1,
            ygap=1,
        )
    )
    fig.update_xaxes(tickangle=-30, showgrid=False, side="top")
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig = _base(fig, max(240, 40 * len(rows) + 150))
    fig.update_layout(margin={"t": 10})
    return fig


def projection_figure(projection: Projection, names: Mapping[int, str]) -> go.Figure:
    points = projection.points
    ids = sorted(points["segment_id"].unique().tolist())
    colours = segment_colours(ids)
    fig = go.Figure()
    for seg in ids:
        part = points[points["segment_id"] == seg]
        fig.add_trace(
            go.Scatter(
                x=part["x"],
                y=part["y"],
                mode="markers",
                name=segment_label(int(seg), names, 32),
                marker={"size": 4, "color": colours[int(seg)], "opacity": 0.55},
                hovertemplate=f"{segment_label(int(seg), names, 60)}<extra></extra>",
            )
        )
    if projection.centroids is not None:
        cents = projection.centroids[projection.centroids["segment_id"].isin(ids)]
        fig.add_trace(
            go.Scatter(
                x=cents["x"],
                y=cents["y"],
                mode="markers",
                name="segment centres",
                marker={
                    "symbol": "x",
                    "size": 13,
                    "color": [colours.get(int(s), INK) for s in cents["segment_id"]],
                    "line": {"color": INK, "width": 1.5},
                },
                hovertemplate=[
                    f"centre of {segment_label(int(s), names, 60)}<extra></extra>" for s in cents["segment_id"]
                ],
            )
        )
    ex1, ex2 = projection.explained
    fig.update_xaxes(title_text=f"component 1 ({ex1:.0%} of variance)", zeroline=False)
    fig.update_yaxes(title_text=f"component 2 ({ex2:.0%} of variance)", zeroline=False)
    fig.update_layout(legend={"itemsizing": "constant", "font": {"size": 11}})
    return _base(fig, 440)


def size_history_figure(history: pd.DataFrame, names: Mapping[int, str]) -> go.Figure:
    """Share of customers per segment at each run date (stacked)."""
    ids = sorted(history["segment_id"].unique().tolist())
    colours = segment_colours(ids)
    fig = go.Figure()
    for seg in ids:
        part = history[history["segment_id"] == seg]
        fig.add_trace(
            go.Scatter(
                x=part["as_of_date"],
                y=part["share"],
                mode="lines+markers",
                stackgroup="share",
                name=segment_label(int(seg), names, 32),
                line={"color": colours[int(seg)], "width": 1},
                customdata=part["size"],
                hovertemplate="%{x|%Y-%m-%d}: %{y:.1%} (%{customdata:,})<extra>"
                + segment_label(int(seg), names, 40)
                + "</extra>",
            )
        )
    fig.update_yaxes(tickformat=".0%", title_text="share of customers", range=[0, 1])
    fig.update_xaxes(title_text="as of date")
    return _base(fig, 320)


def transition_matrix_figure(transitions: Transitions, names: Mapping[int, str]) -> go.Figure:
    matrix = transitions.matrix.dropna(subset=["from_segment_id", "to_segment_id"])
    ids = sorted(set(matrix["from_segment_id"].astype(int)) | set(matrix["to_segment_id"].astype(int)))
    index = {seg: i for i, seg in enumerate(ids)}
    prob = np.full((len(ids), len(ids)), np.nan)
    count = np.zeros((len(ids), len(ids)), dtype=np.int64)
    for rec in matrix.to_dict("records"):
        i, j = index[int(rec["from_segment_id"])], index[int(rec["to_segment_id"])]
        prob[i, j] = float(rec["probability"])
        count[i, j] = int(rec["customers"])
    labels = [segment_label(s, names, 26) for s in ids]
    fig = go.Figure(
        go.Heatmap(
            z=prob,
            x=labels,
            y=labels,
            text=[[_percent_text(p) for p in row] for row in prob],
            texttemplate="%{text}",
            customdata=count,
            hovertemplate="from %{y}<br>to %{x}<br>%{z:.1%} (%{customdata:,} customers)<extra></extra>",
            colorscale=SEQUENTIAL,
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "P(to | from)"}, "tickformat": ".0%", "thickness": 12},
            xgap=1,
            ygap=1,
        )
    )
    fig.update_xaxes(title_text=f"segment on {transitions.to_date}", tickangle=-30, showgrid=False)
    fig.update_yaxes(title_text=f"segment on {transitions.from_date}", autorange="reversed", showgrid=False)
    return _base(fig, max(320, 46 * len(ids) + 170))


def sankey_figure(transitions: Transitions, names: Mapping[int, str]) -> go.Figure:
    """Customers flowing between segments over consecutive runs, one column per date.

    Only customers present on both dates of a pair are drawn (entries and exits are
    counted in the text beside the chart). Nodes are placed explicitly: segments keep
    the same vertical order in every column, so a band that stays level is a segment
    that kept its customers. Names are written in the first and last column only, to
    keep the picture readable with a dozen segments; hovering shows every node.
    """
    flows = transitions.flows.dropna(subset=["from_segment_id", "to_segment_id"])
    flows = flows[flows["customers"] > 0]
    dates = sorted({pd.Timestamp(d) for d in flows["from_date"]} | {pd.Timestamp(d) for d in flows["to_date"]})
    column = {d: i for i, d in enumerate(dates)}
    ids = sorted({int(s) for s in flows["from_segment_id"]} | {int(s) for s in flows["to_segment_id"]})
    colours = segment_colours(ids)
    # node size = max(inflow, outflow) of that segment on that date
    outflow: dict[tuple[int, int], float] = {}
    inflow: dict[tuple[int, int], float] = {}
    records = flows.to_dict("records")
    for rec in records:
        key_from = (column[pd.Timestamp(rec["from_date"])], int(rec["from_segment_id"]))
        key_to = (column[pd.Timestamp(rec["to_date"])], int(rec["to_segment_id"]))
        outflow[key_from] = outflow.get(key_from, 0.0) + float(rec["customers"])
        inflow[key_to] = inflow.get(key_to, 0.0) + float(rec["customers"])
    size = {k: max(inflow.get(k, 0.0), outflow.get(k, 0.0)) for k in {*inflow, *outflow}}
    last = len(dates) - 1
    biggest_column = max((sum(v for (c, _), v in size.items() if c == col) for col in range(len(dates))), default=1.0)
    gap = 0.02
    index: dict[tuple[int, int], int] = {}
    labels: list[str] = []
    hover: list[str] = []
    node_colours: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    for col in range(len(dates)):
        keys = sorted((k for k in size if k[0] == col), key=lambda k: k[1])
        usable = 0.96 - gap * max(len(keys) - 1, 0)
        cursor = 0.02
        for key in keys:
            height = usable * size[key] / biggest_column if biggest_column else 0.0
            index[key] = len(labels)
            full = segment_label(key[1], names, 60)
            labels.append(segment_label(key[1], names, 28) if col in (0, last) else "")
            hover.append(f"{full}<br>{dates[col].date()}")
            node_colours.append(colours[key[1]])
            xs.append(0.001 + 0.998 * col / max(last, 1))
            ys.append(min(max(cursor + height / 2, 0.001), 0.999))
            cursor += height + gap
    source, target, value, link_colours = [], [], [], []
    for rec in records:
        frm = index[(column[pd.Timestamp(rec["from_date"])], int(rec["from_segment_id"]))]
        to = index[(column[pd.Timestamp(rec["to_date"])], int(rec["to_segment_id"]))]
        source.append(frm)
        target.append(to)
        value.append(int(rec["customers"]))
        link_colours.append(_rgba(node_colours[frm], 0.32))
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": labels,
                "customdata": hover,
                "color": node_colours,
                "pad": 6,
                "thickness": 14,
                "x": xs,
                "y": ys,
                "line": {"width": 0},
                "hovertemplate": "%{customdata}<br>%{value:,} customers<extra></extra>",
            },
            link={
                "source": source,
                "target": target,
                "value": value,
                "color": link_colours,
                "customdata": [[hover[s], hover[t]] for s, t in zip(source, target, strict=True)],
                "hovertemplate": "%{customdata[0]} → %{customdata[1]}<br>%{value:,} customers<extra></extra>",
            },
            textfont={"size": 11, "color": INK},
        )
    )
    for d, i in column.items():
        fig.add_annotation(
            x=i / max(last, 1),
            y=0.0,
            yshift=-16,
            xref="paper",
            yref="paper",
            text=str(d.date()),
            showarrow=False,
            xanchor="left" if i == 0 else "right" if i == last else "center",
            font={"color": MUTED, "size": 11},
        )
    fig = _base(fig, max(360, 30 * len(ids) + 140))
    fig.update_layout(margin={"t": 30, "l": 10, "r": 10, "b": 30})
    return fig


def _percent_text(p: float) -> str:
    if np.isnan(p):
        return ""
    return "&lt;1%" if 0 < p < 0.005 else f"{p:.0%}"


def _rgba(hex_colour: str, alpha: float) -> str:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def drift_figure(drift: Drift) -> go.Figure:
    """PSI per feature on the latest date (bars), with the refit threshold."""
    frame = drift.frame
    latest = frame["date"].max()
    now = frame[frame["date"] == latest].sort_values("psi")
    colours = ["#c2475f" if drift.threshold is not None and v >= drift.threshold else ACCENT for v in now["psi"]]
    fig = go.Figure(
        go.Bar(
            x=now["psi"],
            y=[_esc(_short(feature_label(str(f), short=True), 34)) for f in now["feature"]],
            orientation="h",
            marker={"color": colours},
            text=[f"{v:.3f}" for v in now["psi"]],
            textposition="auto",
            hovertemplate="%{y}<br>PSI %{x:.3f}<extra></extra>",
        )
    )
    if drift.threshold is not None:
        fig.add_vline(
            x=drift.threshold,
            line={"color": "#c2475f", "dash": "dash"},
            annotation_text=f"refit at {drift.threshold:g}",
            annotation_position="top",
        )
    top = max(float(now["psi"].max()) if len(now) else 0.0, drift.threshold or 0.0, 0.05)
    fig.update_xaxes(
        title_text=f"population stability index on {pd.Timestamp(latest).date()}",
        range=[0, top * 1.12],
    )
    return _base(fig, max(240, 26 * len(now) + 110))


def drift_history_figure(drift: Drift) -> go.Figure:
    """PSI of each measure at every run date, with the refit threshold."""
    fig = go.Figure()
    for i, (feature, part) in enumerate(drift.frame.groupby("feature", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=part["date"],
                y=part["psi"],
                mode="lines+markers",
                name=_esc(_short(feature_label(str(feature), short=True), 30)),
                line={"color": PALETTE[i % len(PALETTE)], "width": 1.5},
                hovertemplate="%{x|%Y-%m-%d}: PSI %{y:.3f}<extra>%{fullData.name}</extra>",
            )
        )
    if drift.threshold is not None:
        fig.add_hline(y=drift.threshold, line={"color": "#c2475f", "dash": "dash"}, layer="below")
    fig.update_yaxes(title_text="PSI", rangemode="tozero")
    fig.update_xaxes(title_text="as of date")
    fig.update_layout(legend={"font": {"size": 11}})
    return _base(fig, 300)


# --------------------------------------------------------------------------- RFM


def rfm_grid_figure(rfm: RfmSection) -> go.Figure:
    """R score × F score, coloured by customers, each cell named by its largest RFM segment."""
    grid = rfm.grid
    r_values = list(range(1, int(max(5, grid["r_score"].max() if len(grid) else 5)) + 1))
    f_values = list(range(1, int(max(5, grid["f_score"].max() if len(grid) else 5)) + 1))
    counts = np.full((len(r_values), len(f_values)), np.nan)
    text = [["" for _ in f_values] for _ in r_values]
    hover = [["no customers" for _ in f_values] for _ in r_values]
    for rec in grid.to_dict("records"):
        i, j = r_values.index(int(rec["r_score"])), f_values.index(int(rec["f_score"]))
        counts[i, j] = int(rec["customers"])
        text[i][j] = f"<b>{_esc(rec['top_name'])}</b><br>{int(rec['customers']):,}"
        hover[i][j] = "<br>".join(f"{_esc(n)}: {c:,}" for n, c in rec["detail"])
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=[f"F{f}" for f in f_values],
            y=[f"R{r}" for r in r_values],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 11},
            customdata=hover,
            hovertemplate="R score %{y}, F score %{x}<br>%{customdata}<extra></extra>",
            colorscale=SEQUENTIAL,
            colorbar={"title": {"text": "customers"}, "thickness": 12},
            xgap=2,
            ygap=2,
        )
    )
    fig.update_xaxes(title_text="frequency score (5 = most orders)", showgrid=False, side="bottom")
    fig.update_yaxes(title_text="recency score (5 = most recent)", showgrid=False)
    return _base(fig, 460)
