"""Per-view segmentation configuration: parsing, validation and feature resolution.

A view's configuration arrives as a plain dict (the ``meta.segmentation`` block of a
dbt Python model's YAML, optionally deep-merged with the ``segments_view_overrides``
var). Values rendered by Jinja can arrive as strings ("true", "8"), so every field is
coerced here, in one place, and a bad value raises :class:`ConfigError` naming the view,
the key and the reason instead of failing later inside scikit-learn.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

Algorithm = Literal["kmeans", "gmm", "minibatch_kmeans", "ward", "hdbscan"]
Scaling = Literal["robust", "standard", "none"]
Impute = Literal["median", "zero"]

ALGORITHMS: tuple[Algorithm, ...] = ("kmeans", "gmm", "minibatch_kmeans", "ward", "hdbscan")
SCALINGS: tuple[Scaling, ...] = ("robust", "standard", "none")
IMPUTES: tuple[Impute, ...] = ("median", "zero")
VIEWS: tuple[str, ...] = ("value", "behavioral", "channel")


class ConfigError(ValueError):
    """A view configuration value is missing, of the wrong type or out of range."""


@dataclass(frozen=True)
class ViewConfig:
    """Everything needed to fit one view's segmentation.

    ``features``, ``exclude``, ``log_features`` and ``categorical`` hold glob patterns
    (``cat_share__*``) because the set of category and channel columns depends on the
    data; :func:`resolve_features` turns them into concrete column names.
    """

    view: str
    features: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    log_features: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    scale_groups: tuple[str, ...] = ()
    scaling: Scaling = "standard"
    impute: Impute = "median"
    algorithm: Algorithm = "kmeans"
    k: int | None = None
    k_min: int = 2
    k_max: int = 8
    min_segment_share: float = 0.05
    min_segment_size: int = 5
    seed: int = 42
    sample_size: int = 50_000
    k_selection_sample: int = 5_000
    silhouette_sample: int = 3_000
    hierarchical_sample: int = 5_000
    hdbscan_min_cluster_size: int | None = None
    gmm_covariance: Literal["full", "diag"] = "full"
    n_init: int = 10
    stability_resamples: int = 5
    stability_sample: int = 5_000
    drift_threshold: float = 0.25
    match_threshold: float = 1.5
    one_hot_max_levels: int = 20
    chunk_size: int = 100_000
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        out["extra"] = dict(self.extra)
        return out

    def fingerprint(self) -> str:
        """Hash of the settings that change what a fit means.

        A stored model whose fingerprint differs from the current configuration is refit
        (warm-started and matched, so ids survive). Operational knobs such as the chunk
        size or the drift threshold are left out: changing them must not force a refit.
        """
        keys = (
            "features",
            "exclude",
            "log_features",
            "categorical",
            "scale_groups",
            "scaling",
            "impute",
            "algorithm",
            "k",
            "k_min",
            "k_max",
            "gmm_covariance",
            "hdbscan_min_cluster_size",
        )
        settings = self.to_dict()
        payload = {key: settings[key] for key in keys}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# the smallest value each integer setting accepts
_INT_MINIMUM: dict[str, int] = {
    "k_min": 1,
    "k_max": 1,
    "min_segment_size": 1,
    "seed": 0,
    "sample_size": 1,
    "k_selection_sample": 1,
    "silhouette_sample": 1,
    "hierarchical_sample": 1,
    "n_init": 1,
    "stability_resamples": 1,
    "stability_sample": 1,
    "one_hot_max_levels": 1,
    "chunk_size": 1,
}
# the closed range each number setting accepts
_FLOAT_RANGE: dict[str, tuple[float, float]] = {
    "min_segment_share": (0.0, 0.5),
    "drift_threshold": (0.0, float("inf")),
    "match_threshold": (0.0, float("inf")),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "scaling": SCALINGS,
    "impute": IMPUTES,
    "algorithm": ALGORITHMS,
    "gmm_covariance": ("full", "diag"),
}
_PATTERN_KEYS = ("features", "exclude", "log_features", "categorical", "scale_groups")
_KNOWN_KEYS = frozenset(ViewConfig.__dataclass_fields__) - {"view", "extra"}


def parse_bool(value: Any, *, name: str = "value") -> bool:
    """Coerce a Jinja-rendered or YAML value to bool (``"true"``, ``"1"``, ``True`` ...)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "1", "yes", "y", "on"}:
            return True
        if text in {"false", "0", "no", "n", "off", "", "none", "null"}:
            return False
    raise ConfigError(f"{name}: expected a boolean, got {value!r}")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into ``base`` (override wins, dicts merge)."""
    out: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(cast(Mapping[str, Any], out[key]), value)
        else:
            out[key] = value
    return out


def _as_patterns(view: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"view {view!r}: {key} must be a list of column names or globs")
    return tuple(value)


def _as_int(view: str, key: str, value: Any, minimum: int) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = int(value)
        if isinstance(value, float) and number != value:
            raise TypeError
    except (TypeError, ValueError) as err:
        raise ConfigError(f"view {view!r}: {key} must be an integer, got {value!r}") from err
    if number < minimum:
        raise ConfigError(f"view {view!r}: {key} must be >= {minimum}, got {number}")
    return number


def _as_float(view: str, key: str, value: Any, low: float, high: float) -> float:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"view {view!r}: {key} must be a number, got {value!r}") from err
    if not low <= number <= high:
        raise ConfigError(f"view {view!r}: {key} must be in [{low}, {high}], got {number}")
    return number


def _choice(view: str, key: str, value: Any, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    text = str(value).strip().lower()
    if text not in options:
        raise ConfigError(f"view {view!r}: {key} must be one of {options}, got {value!r}")
    return text


def parse_view_config(
    raw: Mapping[str, Any] | None,
    *,
    view: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ViewConfig:
    """Validate a raw configuration dict into a :class:`ViewConfig`.

    ``overrides`` is the ``segments_view_overrides`` var: either a dict keyed by view
    name (``{"value": {"k": 5}}``) or flat settings for this view. Unknown keys are an
    error, because a typo such as ``algoritm`` would otherwise be silently ignored.
    """
    merged: dict[str, Any] = dict(raw or {})
    view_name = str(view or merged.get("view") or "").strip()
    if not view_name:
        raise ConfigError("segmentation config: 'view' is required")
    if overrides:
        per_view = overrides.get(view_name) if isinstance(overrides, Mapping) else None
        if isinstance(per_view, Mapping):
            merged = deep_merge(merged, per_view)
        elif not any(isinstance(v, Mapping) for v in overrides.values()):
            merged = deep_merge(merged, overrides)
    merged.pop("view", None)
    extra = merged.pop("extra", {}) or {}
    unknown = sorted(set(merged) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"view {view_name!r}: unknown setting(s) {unknown}; known: {sorted(_KNOWN_KEYS)}")
    kwargs: dict[str, Any] = {"view": view_name, "extra": dict(extra)}
    for key in _PATTERN_KEYS:
        if key in merged:
            kwargs[key] = _as_patterns(view_name, key, merged[key])
    if not kwargs.get("features"):
        raise ConfigError(f"view {view_name!r}: 'features' must list at least one column or glob")
    for key, minimum in _INT_MINIMUM.items():
        if merged.get(key) is not None:
            kwargs[key] = _as_int(view_name, key, merged[key], minimum)
    for key, (low, high) in _FLOAT_RANGE.items():
        if merged.get(key) is not None:
            kwargs[key] = _as_float(view_name, key, merged[key], low, high)
    if merged.get("k") not in (None, "", "auto"):
        kwargs["k"] = _as_int(view_name, "k", merged["k"], 1)
    if merged.get("hdbscan_min_cluster_size") is not None:
        kwargs["hdbscan_min_cluster_size"] = _as_int(
            view_name, "hdbscan_min_cluster_size", merged["hdbscan_min_cluster_size"], 2
        )
    for key, allowed in _CHOICES.items():
        if key in merged:
            kwargs[key] = _choice(view_name, key, merged[key], allowed)
    config = ViewConfig(**kwargs)
    if config.k_min > config.k_max:
        raise ConfigError(f"view {view_name!r}: k_min ({config.k_min}) must not exceed k_max ({config.k_max})")
    return config


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


@dataclass(frozen=True)
class ResolvedFeatures:
    """Concrete columns for a view, split by how they are transformed."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    log: tuple[str, ...]
    missing_patterns: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    @property
    def empty(self) -> bool:
        return not self.numeric and not self.categorical


def resolve_features(config: ViewConfig, columns: Sequence[str]) -> ResolvedFeatures:
    """Expand the view's glob patterns against the columns actually present.

    Order follows ``columns`` (the relation's order), so the result is deterministic for
    a given input table. Patterns that match nothing are reported in
    ``missing_patterns``; the caller logs them (a missing optional table is normal).
    ``customer_id`` and ``as_of_date`` are never features.
    """
    reserved = {"customer_id", "as_of_date"}
    lowered = {c.lower(): c for c in columns}
    chosen: list[str] = []
    missing: list[str] = []
    for pattern in config.features:
        hits = [c for c in columns if fnmatch.fnmatchcase(c.lower(), pattern.lower())]
        if not hits and pattern.lower() in lowered:
            hits = [lowered[pattern.lower()]]
        if not hits:
            missing.append(pattern)
        for column in hits:
            if column not in chosen and column.lower() not in reserved:
                chosen.append(column)
    chosen = [c for c in chosen if not _matches(c.lower(), [p.lower() for p in config.exclude])]
    categorical_patterns = [p.lower() for p in config.categorical]
    log_patterns = [p.lower() for p in config.log_features]
    categorical = tuple(c for c in chosen if _matches(c.lower(), categorical_patterns))
    numeric = tuple(c for c in chosen if c not in categorical)
    log = tuple(c for c in numeric if _matches(c.lower(), log_patterns))
    return ResolvedFeatures(numeric, categorical, log, tuple(missing))
