"""Everything the report shows, read from the warehouse into small typed records.

All heavy lifting happens in DuckDB: counts, averages and transition matrices are
aggregated in SQL, and the only customer-level rows that reach Python are a seeded
reservoir sample (at most ``projection_sample`` rows per view) for the 2D projection.
That keeps rendering to seconds at a hundred thousand customers and flat beyond.

Every loader returns either its record or a :class:`~segmentation.report.source.Missing`
that names the relation (or column) that is absent, so one stage not having run
(history, sync) costs one note in the page and nothing else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segmentation.naming import MIN_Z
from segmentation.report.actions import rfm_action, segment_action
from segmentation.report.labels import feature_label, format_feature_value
from segmentation.report.source import Missing, Source, quote_ident

VIEW_ORDER: tuple[str, ...] = ("value", "behavioral", "channel")
VIEW_TITLES: dict[str, str] = {
    "value": "Value (RFM clustering)",
    "behavioral": "Behavioral (product affinity)",
    "channel": "Channel and engagement",
}
RFM_ORDER: tuple[str, ...] = (
    "Champions",
    "Loyal",
    "Potential Loyalists",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)
OUTLIER_SEGMENT_ID = 0
#: segment_history and segment_transitions carry the rule-based RFM cells as this view.
RFM_VIEW = "rfm"
MAX_TRAITS = 5
MAX_SANKEY_STEPS = 4


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Overview:
    duckdb_path: Path
    generated_at: datetime
    as_of_date: date | None
    customers: int | None
    revenue: float | None
    views: tuple[str, ...]
    run_dates: tuple[date, ...]
    empty_reason: str | None = None
    """Why no customer is in scope, when none is: what became of the order lines."""


@dataclass(frozen=True)
class KCandidate:
    k: int
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    admissible: bool
    smallest_share: float | None


@dataclass(frozen=True)
class ModelInfo:
    view: str
    model_version: int
    algorithm: str
    k: int
    fitted_at: datetime | None
    training_as_of_date: date | None
    fit_reason: str
    n_customers: int | None
    n_train: int | None
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    stability_ari: float | None
    max_drift_psi: float | None
    k_rule: str
    k_reason: str
    candidates: tuple[KCandidate, ...]
    parameters: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Trait:
    feature: str
    label: str
    z: float
    mean_text: str

    @property
    def direction(self) -> str:
        return "high" if self.z > 0 else "low"


@dataclass(frozen=True)
class SegmentProfile:
    segment_id: int
    name: str
    size: int
    share: float
    avg_confidence: float | None
    stability: float | None
    means: dict[str, float | None]
    z_scores: dict[str, float | None]
    traits: tuple[Trait, ...]
    action: str

    @property
    def is_outlier(self) -> bool:
        return self.segment_id == OUTLIER_SEGMENT_ID


@dataclass(frozen=True)
class Projection:
    points: pd.DataFrame  # x, y, segment_id
    centroids: pd.DataFrame | None  # x, y, segment_id
    explained: tuple[float, float]
    n_sampled: int
    n_total: int
    method: str


@dataclass(frozen=True)
class Transitions:
    from_date: date
    to_date: date
    matrix: pd.DataFrame  # from_segment_id, to_segment_id, customers, probability
    flows: pd.DataFrame  # from_date, to_date, from_segment_id, to_segment_id, customers
    stayed_share: float | None
    names: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Drift:
    frame: pd.DataFrame  # date, feature, psi
    threshold: float | None
    source: str  # where the numbers come from, shown under the chart


@dataclass(frozen=True)
class ViewSection:
    view: str
    title: str
    model: ModelInfo | Missing
    profiles: list[SegmentProfile] | Missing
    projection: Projection | Missing
    size_history: pd.DataFrame | Missing
    transitions: Transitions | Missing
    drift: Drift | Missing
    model_versions: pd.DataFrame | Missing
    names: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RfmSection:
    grid: pd.DataFrame  # r_score, f_score, customers, top_name, detail
    segments: pd.DataFrame  # rfm_segment, customers, share, recency_days, ...
    transitions: Transitions | Missing


@dataclass(frozen=True)
class SyncSection:
    runs: pd.DataFrame | Missing
    state: pd.DataFrame | Missing


@dataclass(frozen=True)
class ReportData:
    overview: Overview
    data_quality: pd.DataFrame | Missing
    rfm: RfmSection | Missing
    views: list[ViewSection]
    sync: SyncSection


# --------------------------------------------------------------------------- helpers


def in_view_order(views: Iterable[str]) -> tuple[str, ...]:
    """The known views in ``VIEW_ORDER``, then any other view alphabetically."""
    found = set(views)
    return tuple(v for v in VIEW_ORDER if v in found) + tuple(sorted(found - set(VIEW_ORDER)))


def in_rfm_order(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by ``rfm_segment`` in ``RFM_ORDER`` (other names last, alphabetically)."""
    rank = {name: i for i, name in enumerate(RFM_ORDER)}
    ranks = [rank.get(str(n), len(rank)) for n in frame["rfm_segment"]]
    return frame.assign(rank=ranks).sort_values(["rank", "rfm_segment"]).drop(columns="rank").reset_index(drop=True)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(stamp) else stamp.date()


def _datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(stamp) else stamp.to_pydatetime()


def _json(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, dict | list):
        return value
    try:
        return json.loads(str(value))
    except json.JSONDecodeError:
        return {}


# --------------------------------------------------------------------------- overview


def current_as_of_date(src: Source) -> date | None:
    """The newest as_of_date with segment assignments, else the features' as_of_date."""
    for relation in ("segment_assignments", "customer_rfm"):
        if src.check(relation, ["as_of_date"]) is None:
            value = src.scalar(f"select max(as_of_date) from {src.qualified(relation)}")
            if value is not None:
                return _date(value)
    return None


def load_overview(src: Source, as_of: date | None) -> Overview:
    customers: int | None = None
    revenue: float | None = None
    if src.check("customer_rfm", ["monetary_total"]) is None:
        row = src.rows(f"select count(*), sum(cast(monetary_total as double)) from {src.qualified('customer_rfm')}")[0]
        customers, revenue = _int(row[0]), _float(row[1])
    views: tuple[str, ...] = ()
    run_dates: tuple[date, ...] = ()
    if src.check("segment_assignments", ["view", "as_of_date"]) is None:
        found = {
            str(r[0])
            for r in src.rows(
                f"select distinct view from {src.qualified('segment_assignments')} where as_of_date = ?",
                [as_of],
            )
        }
        views = in_view_order(found)
        run_dates = tuple(
            d
            for d in (
                _date(r[0])
                for r in src.rows(f"select distinct as_of_date from {src.qualified('segment_assignments')} order by 1")
            )
            if d is not None
        )
    return Overview(
        duckdb_path=src.path.resolve(),
        generated_at=datetime.now(UTC).replace(microsecond=0),
        as_of_date=as_of,
        customers=customers,
        revenue=revenue,
        views=views,
        run_dates=run_dates,
        empty_reason=why_no_customers(src) if customers == 0 else None,
    )


def why_no_customers(src: Source) -> str:
    """A sentence on what became of the order lines, from data_quality's accounting."""
    if src.check("data_quality", ["table_name", "action", "row_count", "table_rows"]) is not None:
        return "no customer is in scope: no order line counts before the as-of date"
    rows = src.rows(
        f"select action, sum(row_count), max(table_rows) from {src.qualified('data_quality')} "
        "where table_name = 'order_lines' group by action"
    )
    by_action = {str(action): _int(count) or 0 for action, count, _ in rows}
    total = max((_int(total) or 0 for _, _, total in rows), default=0)
    if total == 0:
        return "no customer is in scope: the order_lines input has no rows"
    return (
        f"no customer is in scope: none of the {total:,} order lines counts before the as-of date "
        f"({by_action.get('excluded', 0):,} break the input contract, {by_action.get('filtered', 0):,} have an "
        "excluded status or are on or after the as-of date); see the data-quality table for each reason"
    )


# --------------------------------------------------------------------------- data quality


def load_data_quality(src: Source) -> pd.DataFrame | Missing:
    """Per table and reason: rows, what happened to them (``action``) and their share.

    Builds from before ``data_quality`` accounted for every row have no ``action``
    nor ``detail``: all their rows were contract exclusions.
    """
    needed = ["table_name", "reason", "rows_excluded", "table_rows", "share"]
    missing = src.check("data_quality", needed)
    if missing:
        return missing
    columns = set(src.columns("data_quality"))
    action = "action" if "action" in columns else "'excluded'"
    detail = "detail" if "detail" in columns else "cast(null as varchar)"
    rows = "row_count" if "row_count" in columns else "rows_excluded"
    return src.frame(
        f"select table_name, reason, {detail} as detail, {action} as action, cast({rows} as bigint) as row_count, "
        f"cast(rows_excluded as bigint) as rows_excluded, "
        f"cast(table_rows as bigint) as table_rows, cast(share as double) as share "
        f"from {src.qualified('data_quality')} "
        f"order by case {action} when 'excluded' then 0 when 'warning' then 1 when 'listed' then 2 "
        "when 'filtered' then 3 else 4 end, row_count desc, table_name, reason, detail"
    )


# --------------------------------------------------------------------------- RFM


def load_rfm(src: Source) -> RfmSection | Missing:
    needed = [
        "r_score",
        "f_score",
        "rfm_segment",
        "recency_days",
        "frequency",
        "monetary_total",
    ]
    missing = src.check("customer_rfm", needed)
    if missing:
        return missing
    rel = src.qualified("customer_rfm")
    cells = src.frame(
        f"select r_score, f_score, rfm_segment, count(*) as customers from {rel} "
        "where r_score is not null and f_score is not null group by all"
    )
    grid_rows = []
    for _, group in cells.groupby(["r_score", "f_score"], sort=True):
        ordered = group.sort_values(["customers", "rfm_segment"], ascending=[False, True])
        grid_rows.append(
            {
                "r_score": int(ordered["r_score"].iloc[0]),
                "f_score": int(ordered["f_score"].iloc[0]),
                "customers": int(ordered["customers"].sum()),
                "top_name": str(ordered["rfm_segment"].iloc[0]),
                "detail": [(str(n), int(c)) for n, c in zip(ordered["rfm_segment"], ordered["customers"], strict=True)],
            }
        )
    grid = pd.DataFrame(grid_rows, columns=["r_score", "f_score", "customers", "top_name", "detail"])
    segments = src.frame(
        f"select rfm_segment, count(*) as customers, "
        f"avg(cast(recency_days as double)) as recency_days, "
        f"avg(cast(frequency as double)) as frequency, "
        f"avg(cast(monetary_total as double)) as monetary_total, "
        f"sum(cast(monetary_total as double)) as revenue "
        f"from {rel} group by rfm_segment"
    )
    total = segments["customers"].sum()
    revenue = segments["revenue"].sum()
    segments["share"] = segments["customers"] / total if total else 0.0
    segments["revenue_share"] = segments["revenue"] / revenue if revenue else 0.0
    segments = in_rfm_order(segments)
    segments["action"] = [rfm_action(str(n)) for n in segments["rfm_segment"]]
    return RfmSection(
        grid=grid,
        segments=segments,
        transitions=load_transitions(src, RFM_VIEW),
    )


# --------------------------------------------------------------------------- per view


def load_names(src: Source, view: str) -> dict[int, str]:
    """Latest known name of every segment id the view ever had (for history charts)."""
    names: dict[int, str] = {}
    if src.check("segment_profiles", ["view", "segment_id", "segment_name", "as_of_date"]) is None:
        for seg, name in src.rows(
            f"select segment_id, arg_max(segment_name, as_of_date) "
            f"from {src.qualified('segment_profiles')} where view = ? group by segment_id",
            [view],
        ):
            if seg is not None:
                names[int(seg)] = str(name)
    return names


def _candidates(quality: dict[str, Any]) -> tuple[str, str, tuple[KCandidate, ...]]:
    selection = quality.get("k_selection") or {}
    rule = str(selection.get("rule") or "")
    reason = str(selection.get("reason") or "")
    out = []
    for c in selection.get("candidates") or []:
        k = _int(c.get("k"))
        if k is None:
            continue
        out.append(
            KCandidate(
                k=k,
                silhouette=_float(c.get("silhouette")),
                calinski_harabasz=_float(c.get("calinski_harabasz")),
                davies_bouldin=_float(c.get("davies_bouldin")),
                admissible=bool(c.get("admissible", True)),
                smallest_share=_float(c.get("smallest_share")),
            )
        )
    return rule, reason, tuple(sorted(out, key=lambda c: c.k))


def load_model(src: Source, view: str, model_version: int | None) -> ModelInfo | Missing:
    needed = ["view", "model_version", "algorithm", "k", "quality", "parameters"]
    missing = src.check("segment_models", needed)
    if missing:
        return missing
    where = "view = ?" + (" and model_version = ?" if model_version is not None else "")
    params: list[Any] = [view] + ([model_version] if model_version is not None else [])
    frame = src.frame(
        f"select * from {src.qualified('segment_models')} where {where} order by model_version desc limit 1",
        params,
    )
    if frame.empty:
        return Missing("segment_models", f"has no model for view {view!r}")
    row = {str(k): (None if _is_na(v) else v) for k, v in frame.iloc[0].to_dict().items()}
    quality = _json(row.get("quality"))
    rule, reason, candidates = _candidates(quality if isinstance(quality, dict) else {})
    parameters = _json(row.get("parameters"))
    return ModelInfo(
        view=view,
        model_version=_int(row.get("model_version")) or 0,
        algorithm=str(row.get("algorithm") or ""),
        k=_int(row.get("k")) or 0,
        fitted_at=_datetime(row.get("fitted_at")),
        training_as_of_date=_date(row.get("training_as_of_date")),
        fit_reason=str(row.get("fit_reason") or ""),
        n_customers=_int(row.get("n_customers")),
        n_train=_int(row.get("n_train")),
        silhouette=_float(row.get("silhouette")),
        calinski_harabasz=_float(row.get("calinski_harabasz")),
        davies_bouldin=_float(row.get("davies_bouldin")),
        stability_ari=_float(row.get("stability_ari")),
        max_drift_psi=_float(row.get("max_drift_psi")),
        k_rule=rule,
        k_reason=reason,
        candidates=candidates,
        parameters=parameters if isinstance(parameters, dict) else {},
    )


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def load_model_versions(src: Source, view: str) -> pd.DataFrame | Missing:
    missing = src.check("segment_models", ["view", "model_version"])
    if missing:
        return missing
    cols = set(src.columns("segment_models"))
    wanted = [
        "model_version",
        "algorithm",
        "k",
        "fitted_at",
        "training_as_of_date",
        "fit_reason",
        "n_customers",
        "silhouette",
        "stability_ari",
        "max_drift_psi",
    ]
    select = ", ".join(c for c in wanted if c in cols)
    return src.frame(
        f"select {select} from {src.qualified('segment_models')} where view = ? order by model_version desc limit 12",
        [view],
    )


def traits_of(means: dict[str, float | None], z_scores: dict[str, float | None]) -> tuple[Trait, ...]:
    """The features that set a segment apart most (largest |z|, at least the naming bar MIN_Z)."""
    ranked = sorted(
        ((float(z), f) for f, z in z_scores.items() if z is not None and abs(float(z)) >= MIN_Z),
        key=lambda item: (-abs(item[0]), item[1]),
    )
    return tuple(
        Trait(
            feature=f,
            label=feature_label(f),
            z=z,
            mean_text=format_feature_value(f, means.get(f)),
        )
        for z, f in ranked[:MAX_TRAITS]
    )


def load_profiles(src: Source, view: str, as_of: date | None) -> list[SegmentProfile] | Missing:
    needed = [
        "view",
        "as_of_date",
        "segment_id",
        "segment_name",
        "size",
        "share",
        "feature_means",
        "feature_z_scores",
    ]
    missing = src.check("segment_profiles", needed)
    if missing:
        return missing
    has_conf = "avg_confidence" in src.columns("segment_profiles")
    frame = src.frame(
        f"select segment_id, segment_name, size, share, feature_means, feature_z_scores"
        f"{', avg_confidence' if has_conf else ''} "
        f"from {src.qualified('segment_profiles')} where view = ? and as_of_date = ? "
        "order by size desc, segment_id",
        [view, as_of],
    )
    if frame.empty:
        return Missing("segment_profiles", f"has no rows for view {view!r} on {as_of}")
    stability: dict[int, float | None] = {}
    # The catalog is segment_catalog where Python models run and segments__catalog_sql
    # where the SQL scoring does; a warehouse that switched has both.
    catalogs = [
        f"select segment_id, stability_jaccard, model_version from {src.qualified(name)} where view = ?"
        for name in ("segment_catalog", "segments__catalog_sql")
        if src.check(name, ["view", "segment_id", "stability_jaccard", "model_version"]) is None
    ]
    if catalogs:
        for seg, jac in src.rows(
            f"select segment_id, arg_max(stability_jaccard, model_version) "
            f"from ({' union all '.join(catalogs)}) as catalog group by segment_id",
            [view] * len(catalogs),
        ):
            stability[int(seg)] = _float(jac)
    profiles = []
    for row in frame.to_dict("records"):
        seg = int(row["segment_id"])
        means = {str(k): _float(v) for k, v in _json(row["feature_means"]).items()}
        zs = {str(k): _float(v) for k, v in _json(row["feature_z_scores"]).items()}
        profiles.append(
            SegmentProfile(
                segment_id=seg,
                name=str(row["segment_name"]),
                size=int(row["size"]),
                share=float(row["share"]),
                avg_confidence=_float(row.get("avg_confidence")),
                stability=stability.get(seg),
                means=means,
                z_scores=zs,
                traits=traits_of(means, zs),
                action=segment_action(view, zs, outlier=seg == OUTLIER_SEGMENT_ID),
            )
        )
    return profiles


@dataclass(frozen=True)
class ViewSample:
    """A seeded sample of a view's customers in the feature space of its model."""

    as_of_date: date | None  # the run the customers were sampled from
    matrix: np.ndarray
    columns: list[str]
    segment_ids: np.ndarray
    n_total: int
    method: str
    scaled_by_model: bool


def _pca_2d(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Mean and the top-two principal axes of ``matrix`` (signs fixed for stable pictures)."""
    mean = matrix.mean(axis=0)
    centered = matrix - mean
    _, singular, vt = np.linalg.svd(centered, full_matrices=False)
    axes = vt[:2]
    if axes.shape[0] < 2:
        axes = np.vstack([axes, np.zeros((2 - axes.shape[0], matrix.shape[1]))])
    for i in range(axes.shape[0]):
        if axes.shape[1]:
            biggest = int(np.argmax(np.abs(axes[i])))
            if axes[i, biggest] < 0:
                axes[i] = -axes[i]
    variance = singular**2
    total = float(variance.sum())
    shares = [float(v / total) if total > 0 else 0.0 for v in variance[:2]] + [0.0, 0.0]
    return mean, axes, (shares[0], shares[1])


def _transform_of(model: ModelInfo | Missing) -> Any:
    """The stored model's fitted transform, or ``None`` if it cannot be read."""
    if not isinstance(model, ModelInfo) or not model.parameters.get("transform"):
        return None
    from segmentation.transforms import TransformParams

    try:
        return TransformParams.from_dict(model.parameters["transform"])
    except (KeyError, TypeError, ValueError):
        return None


def load_sample(
    src: Source,
    view: str,
    as_of: date | None,
    model: ModelInfo | Missing,
    profiles: list[SegmentProfile] | Missing,
    sample_size: int,
    seed: int = 42,
) -> ViewSample | Missing:
    """A seeded reservoir sample of the view's customers with their features.

    The sample is transformed with the stored model's own transform (log, impute,
    scale), so pictures show the space the clustering actually saw. Without a usable
    model the view's profiled numeric features are standardised instead.
    """
    missing = src.check("segment_assignments", ["customer_id", "view", "as_of_date", "segment_id"])
    if missing:
        return missing
    missing = src.check("customer_features", ["customer_id", "as_of_date"])
    if missing:
        return missing
    available = set(src.columns("customer_features"))
    transform = _transform_of(model)
    if transform is not None and not set(transform.input_columns) <= available:
        transform = None
    if transform is not None:
        features = list(transform.input_columns)
    elif isinstance(profiles, list) and profiles:
        features = [f for f in profiles[0].means if "=" not in f and f in available]
    else:
        features = []
    if not features:
        return Missing("customer_features", f"has none of the features of view {view!r}")
    select = ", ".join(f"f.{quote_ident(c)}" for c in features)
    frame = src.frame(
        f"select * from (select a.segment_id, {select} "
        f"from {src.qualified('segment_assignments')} as a "
        f"join {src.qualified('customer_features')} as f "
        "on f.customer_id = a.customer_id and f.as_of_date = a.as_of_date "
        "where a.view = ? and a.as_of_date = ?) "
        f"using sample reservoir({int(sample_size)} rows) repeatable ({int(seed)})",
        [view, as_of],
    )
    if frame.empty:
        return Missing(
            "customer_features",
            f"has no rows matching the {view!r} assignments on {as_of} (rebuild the features)",
        )
    n_total = int(
        src.scalar(
            f"select count(*) from {src.qualified('segment_assignments')} where view = ? and as_of_date = ?",
            [view, as_of],
        )
        or 0
    )
    if transform is not None:
        from segmentation.transforms import apply_transform

        return ViewSample(
            as_of_date=as_of,
            matrix=apply_transform(transform, frame),
            columns=list(transform.output_columns),
            segment_ids=frame["segment_id"].astype(int).to_numpy(),
            n_total=n_total,
            method="the model's own scaling",
            scaled_by_model=True,
        )
    values = frame[features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    with np.errstate(all="ignore"):
        medians = np.nan_to_num(np.nanmedian(values, axis=0)) if len(values) else np.zeros(0)
    values = np.where(np.isnan(values), medians, values)
    std = values.std(axis=0)
    matrix = (values - values.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return ViewSample(
        as_of_date=as_of,
        matrix=matrix,
        columns=features,
        segment_ids=frame["segment_id"].astype(int).to_numpy(),
        n_total=n_total,
        method="standardised features",
        scaled_by_model=False,
    )


def projection_of(sample: ViewSample | Missing, model: ModelInfo | Missing) -> Projection | Missing:
    """The sample on its first two principal components, with the model's centroids."""
    if isinstance(sample, Missing):
        return sample
    if sample.matrix.shape[1] == 0:
        return Missing("customer_features", "has no usable feature for a projection")
    mean, axes, explained = _pca_2d(sample.matrix)
    xy = (sample.matrix - mean) @ axes.T
    points = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "segment_id": sample.segment_ids})
    centroid_frame = None
    if sample.scaled_by_model and isinstance(model, ModelInfo):
        clusters = model.parameters.get("clusters")
        ids = model.parameters.get("segment_ids")
        if isinstance(clusters, dict) and ids:
            raw = np.asarray(clusters.get("centroids") or [], dtype=np.float64)
            if raw.ndim == 2 and raw.shape[1] == sample.matrix.shape[1] and raw.shape[0] == len(ids):
                cxy = (raw - mean) @ axes.T
                centroid_frame = pd.DataFrame({"x": cxy[:, 0], "y": cxy[:, 1], "segment_id": [int(i) for i in ids]})
    return Projection(
        points=points,
        centroids=centroid_frame,
        explained=explained,
        n_sampled=len(points),
        n_total=sample.n_total,
        method=sample.method,
    )


def load_size_history(src: Source, view: str) -> pd.DataFrame | Missing:
    missing = src.check("segment_profiles", ["view", "as_of_date", "segment_id", "size", "share"])
    if missing:
        return missing
    return src.frame(
        f"select cast(as_of_date as date) as as_of_date, segment_id, size, "
        f"cast(share as double) as share from {src.qualified('segment_profiles')} "
        "where view = ? order by as_of_date, segment_id",
        [view],
    )


TRANSITION_COLUMNS = (
    "view",
    "from_date",
    "to_date",
    "from_segment_id",
    "to_segment_id",
    "customers",
)


def load_transitions(src: Source, view: str) -> Transitions | Missing:
    """The latest transition matrix of a view and the flows of its recent runs.

    Rows with a null from (to) segment count customers who entered (left) the scope;
    they appear in the flow chart, and the matrix is normalised over customers present
    on both dates.
    """
    missing = src.check("segment_transitions", TRANSITION_COLUMNS)
    if missing:
        return missing
    rel = src.qualified("segment_transitions")
    pairs = [
        (_date(a), _date(b))
        for a, b in src.rows(
            f"select distinct from_date, to_date from {rel} "
            "where view = ? and from_date is not null and to_date is not null "
            "order by to_date desc, from_date desc",
            [view],
        )
    ]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    if not pairs:
        return Missing(
            "segment_transitions",
            f"has no rows for view {view!r} yet (needs runs on two dates)",
        )
    window = sorted(pairs[:MAX_SANKEY_STEPS], key=lambda p: (p[1], p[0]))
    flows = src.frame(
        f"select cast(from_date as date) as from_date, cast(to_date as date) as to_date, "
        f"from_segment_id, to_segment_id, sum(customers) as customers from {rel} "
        "where view = ? and to_date >= ? group by all order by all",
        [view, window[0][1]],
    )
    keep = [(_date(a), _date(b)) in set(window) for a, b in zip(flows["from_date"], flows["to_date"], strict=True)]
    flows = flows[keep].reset_index(drop=True)
    latest_from, latest_to = window[-1]
    assert latest_from is not None and latest_to is not None
    on_latest = [
        (_date(a), _date(b)) == (latest_from, latest_to)
        for a, b in zip(flows["from_date"], flows["to_date"], strict=True)
    ]
    matrix = flows[on_latest][["from_segment_id", "to_segment_id", "customers"]].copy()
    both = matrix.dropna(subset=["from_segment_id", "to_segment_id"])
    row_totals = both.groupby("from_segment_id")["customers"].transform("sum")
    matrix["probability"] = np.nan
    matrix.loc[both.index, "probability"] = both["customers"] / row_totals
    moved_total = float(both["customers"].sum())
    stayed = float(both[both["from_segment_id"] == both["to_segment_id"]]["customers"].sum())
    names: dict[int, str] = {}
    if {"to_segment_name", "from_segment_name"} <= set(src.columns("segment_transitions")):
        for seg, name in src.rows(
            f"select seg, arg_max(name, d) from ("
            f"select from_segment_id as seg, from_segment_name as name, from_date as d from {rel} "
            "where view = ? union all "
            f"select to_segment_id, to_segment_name, to_date from {rel} where view = ?) "
            "where seg is not null and name is not null group by seg",
            [view, view],
        ):
            names[int(seg)] = str(name)
    return Transitions(
        from_date=latest_from,
        to_date=latest_to,
        matrix=matrix.reset_index(drop=True),
        flows=flows,
        stayed_share=stayed / moved_total if moved_total else None,
        names=names,
    )


def _drift_from_relation(src: Source, view: str, threshold: float | None) -> Drift | None:
    """PSI per measure and date from the project's ``segment_drift`` relation, if any.

    The history stage builds it with one row per as_of_date, view and measure
    (``measure_type`` feature or segment_share, ``measure``, ``psi``, ``psi_threshold``);
    a plainer ``feature`` / ``psi`` layout is read too.
    """
    if src.check("segment_drift", ["view", "psi"]) is not None:
        return None
    cols = src.columns("segment_drift")
    date_col = next((c for c in ("as_of_date", "to_date", "date") if c in cols), None)
    label_col = next((c for c in ("measure", "feature", "feature_name") if c in cols), None)
    if date_col is None or label_col is None:
        return None
    label = f"cast({quote_ident(label_col)} as varchar)"
    if "measure_type" in cols:
        label = f"case when measure_type = 'segment_share' then 'segment shares' else {label} end"
    limit = "max(cast(psi_threshold as double))" if "psi_threshold" in cols else "cast(null as double)"
    frame = src.frame(
        f"select cast({quote_ident(date_col)} as date) as date, {label} as feature, "
        f"max(cast(psi as double)) as psi, {limit} as threshold "
        f"from {src.qualified('segment_drift')} where view = ? and psi is not null "
        "group by all order by 1, 2",
        [view],
    )
    if frame.empty:
        return None
    stored = _float(frame["threshold"].max()) if frame["threshold"].notna().any() else None
    return Drift(
        frame=frame[["date", "feature", "psi"]],
        threshold=stored if stored is not None else threshold,
        source="as measured by the segment_drift model at each run",
    )


def load_drift(
    src: Source,
    view: str,
    model: ModelInfo | Missing,
    sample: ViewSample | Missing,
) -> Drift | Missing:
    """Feature drift of a view (PSI per feature).

    Read from a ``segment_drift`` relation when the project builds one; otherwise
    computed here on the report's sample against the drift reference (training
    deciles) stored with the model, which is exactly what the next run compares
    with when it decides whether to refit.
    """
    threshold = None
    if isinstance(model, ModelInfo):
        threshold = _float((model.parameters.get("config") or {}).get("drift_threshold"))
    built = _drift_from_relation(src, view, threshold)
    if built is not None:
        return built
    return drift_from_model(src, view, model, sample, threshold)


def drift_from_model(
    src: Source,
    view: str,
    model: ModelInfo | Missing,
    sample: ViewSample | Missing,
    threshold: float | None,
) -> Drift | Missing:
    """PSI of the report's sample against the decile reference stored with the model."""
    if isinstance(model, Missing):
        return model
    if isinstance(sample, Missing):
        return sample
    reference = model.parameters.get("drift_reference")
    if not sample.scaled_by_model or not isinstance(reference, dict) or not reference.get("columns"):
        return Missing(
            "segment_drift",
            f"not built, and model version {model.model_version} of view {view!r} stores no drift reference",
        )
    from segmentation.drift import DriftReference, psi

    ref = DriftReference.from_dict(reference)
    if list(ref.columns) != sample.columns:
        return Missing("segment_models", f"drift reference of view {view!r} does not match its features")
    scores = psi(ref, sample.matrix)
    frame = pd.DataFrame(
        {"date": [sample.as_of_date] * len(scores), "feature": list(scores), "psi": list(scores.values())}
    )
    return Drift(
        frame=frame,
        threshold=threshold,
        source=(
            f"computed for this report on a sample of {len(sample.segment_ids):,} customers "
            f"(model version {model.model_version}"
            + (f", trained as of {model.training_as_of_date})" if model.training_as_of_date else ")")
        ),
    )


def load_view(src: Source, view: str, as_of: date | None, projection_sample: int) -> ViewSection:
    profiles = load_profiles(src, view, as_of)
    version: int | None = None
    if src.check("segment_profiles", ["model_version"]) is None and not isinstance(profiles, Missing):
        version = _int(
            src.scalar(
                f"select max(model_version) from {src.qualified('segment_profiles')} where view = ? and as_of_date = ?",
                [view, as_of],
            )
        )
    model = load_model(src, view, version)
    sample = load_sample(src, view, as_of, model, profiles, projection_sample)
    transitions = load_transitions(src, view)
    names = load_names(src, view)
    if isinstance(transitions, Transitions):
        names = {**transitions.names, **names}
    return ViewSection(
        view=view,
        title=VIEW_TITLES.get(view, view.title()),
        model=model,
        profiles=profiles,
        projection=projection_of(sample, model),
        size_history=load_size_history(src, view),
        transitions=transitions,
        drift=load_drift(src, view, model, sample),
        model_versions=load_model_versions(src, view),
        names=names,
    )


# --------------------------------------------------------------------------- sync


def load_sync(src: Source) -> SyncSection:
    schema = src.sync_schema
    runs: pd.DataFrame | Missing
    missing = src.check("sync_runs", ["run_id", "destination", "started_at", "outcome"], schema)
    if missing:
        runs = missing
    else:
        runs = src.frame(
            f"select * from {src.qualified('sync_runs', schema)} order by started_at desc nulls last limit 10"
        )
    state: pd.DataFrame | Missing
    missing = src.check("sync_state", ["destination", "record_type", "record_key"], schema)
    if missing:
        state = missing
    else:
        has_confirmed = "confirmed_at" in src.columns("sync_state", schema)
        state = src.frame(
            f"select destination, record_type, count(*) as records"
            f"{', max(confirmed_at) as last_confirmed' if has_confirmed else ''} "
            f"from {src.qualified('sync_state', schema)} group by all order by all"
        )
    return SyncSection(runs=runs, state=state)


# --------------------------------------------------------------------------- all


def collect(src: Source, projection_sample: int = 5000) -> ReportData:
    """Read everything the report shows; absent inputs become :class:`Missing` notes."""
    as_of = current_as_of_date(src)
    overview = load_overview(src, as_of)
    views = [load_view(src, v, as_of, projection_sample) for v in overview.views]
    return ReportData(
        overview=overview,
        data_quality=load_data_quality(src),
        rfm=load_rfm(src),
        views=views,
        sync=load_sync(src),
    )
