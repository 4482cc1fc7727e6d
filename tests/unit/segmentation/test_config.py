"""View configuration: coercion of Jinja-rendered values, validation, glob resolution."""

from __future__ import annotations

import pytest

from segmentation.config import ConfigError, deep_merge, parse_bool, parse_view_config, resolve_features


def test_jinja_rendered_strings_are_coerced() -> None:
    config = parse_view_config(
        {"view": "value", "features": "recency_days, frequency", "k": "5", "seed": "7", "min_segment_share": "0.1"}
    )
    assert config.features == ("recency_days", "frequency")
    assert (config.k, config.seed, config.min_segment_share) == (5, 7, 0.1)


def test_k_auto_means_automatic_selection() -> None:
    assert parse_view_config({"view": "v", "features": ["a"], "k": "auto"}).k is None
    assert parse_view_config({"view": "v", "features": ["a"]}).k is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"view": "value"}, "'features' must list"),
        ({"features": ["a"]}, "'view' is required"),
        ({"view": "value", "features": ["a"], "algoritm": "gmm"}, "unknown setting(s) ['algoritm']"),
        ({"view": "value", "features": ["a"], "algorithm": "dbscan"}, "algorithm must be one of"),
        ({"view": "value", "features": ["a"], "k": 0}, "k must be >= 1"),
        ({"view": "value", "features": ["a"], "k": "many"}, "k must be an integer"),
        ({"view": "value", "features": ["a"], "k_min": 5, "k_max": 3}, "k_min (5) must not exceed k_max (3)"),
        ({"view": "value", "features": ["a"], "min_segment_share": 0.9}, "min_segment_share must be in"),
        ({"view": "value", "features": [1, 2]}, "features must be a list"),
    ],
)
def test_bad_settings_name_the_view_and_key(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_view_config(settings)
    assert message in str(err.value)


def test_overrides_keyed_by_view_only_touch_that_view() -> None:
    overrides = {"value": {"k": 4, "algorithm": "gmm"}, "channel": {"k": 9}}
    config = parse_view_config({"view": "value", "features": ["a"], "k": 3}, overrides=overrides)
    assert (config.k, config.algorithm) == (4, "gmm")
    untouched = parse_view_config({"view": "behavioral", "features": ["a"], "k": 3}, overrides=overrides)
    assert untouched.k == 3


def test_flat_overrides_apply_to_the_view() -> None:
    config = parse_view_config({"view": "value", "features": ["a"]}, overrides={"k": 6})
    assert config.k == 6


def test_deep_merge_merges_nested_dicts() -> None:
    assert deep_merge({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"y": 3}}) == {"a": {"x": 1, "y": 3}, "b": 1}


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("False", False), (1, True), ("", False), (None, False)]
)
def test_parse_bool(value: object, expected: bool) -> None:
    assert parse_bool(value) is expected


def test_parse_bool_rejects_garbage() -> None:
    with pytest.raises(ConfigError, match="segments_refit"):
        parse_bool("perhaps", name="segments_refit")


def test_globs_resolve_against_the_columns_present() -> None:
    config = parse_view_config(
        {
            "view": "behavioral",
            "features": ["cat_share__*", "discount_share", "top_category", "customer_id", "missing_col"],
            "exclude": ["cat_share__other"],
            "log_features": ["discount_*"],
            "categorical": ["top_category"],
        }
    )
    columns = [
        "customer_id",
        "as_of_date",
        "cat_share__home",
        "cat_share__other",
        "CAT_SHARE__TOYS",
        "discount_share",
        "top_category",
    ]
    resolved = resolve_features(config, columns)
    assert resolved.numeric == ("cat_share__home", "CAT_SHARE__TOYS", "discount_share")
    assert resolved.categorical == ("top_category",)
    assert resolved.log == ("discount_share",)
    assert resolved.missing_patterns == ("missing_col",)


def test_no_matching_column_leaves_the_view_empty() -> None:
    config = parse_view_config({"view": "behavioral", "features": ["cat_share__*"]})
    assert resolve_features(config, ["customer_id", "recency_days"]).empty


def test_fingerprint_tracks_meaningful_settings_only() -> None:
    base = parse_view_config({"view": "value", "features": ["a"]})
    assert base.fingerprint() == parse_view_config({"view": "value", "features": ["a"], "chunk_size": 10}).fingerprint()
    assert base.fingerprint() != parse_view_config({"view": "value", "features": ["a"], "k": 3}).fingerprint()
    assert base.fingerprint() != parse_view_config({"view": "value", "features": ["a", "b"]}).fingerprint()
