"""Transforms: log, imputation, scaling, scale groups, one-hot, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from segmentation.config import parse_view_config, resolve_features
from segmentation.transforms import (
    FeatureError,
    TransformParams,
    apply_transform,
    fit_transform_params,
    rescale_points,
    signed_log1p,
    to_original_units,
)


def _fit(frame: pd.DataFrame, **settings: object) -> TransformParams:
    config = parse_view_config({"view": "v", **settings})
    return fit_transform_params(frame, resolve_features(config, list(frame.columns)), config)


def test_signed_log_handles_negative_refunds() -> None:
    assert np.allclose(signed_log1p(np.array([-9.0, 0.0, 9.0])), [-np.log(10), 0.0, np.log(10)])


def test_standard_scaling_gives_zero_mean_unit_variance() -> None:
    frame = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0) ** 2})
    params = _fit(frame, features=["a", "b"], log_features=["b"], scaling="standard")
    out = apply_transform(params, frame)
    assert np.allclose(out.mean(axis=0), 0.0) and np.allclose(out.std(axis=0), 1.0)
    assert params.numeric[1].log and not params.numeric[0].log


def test_robust_scaling_uses_median_and_iqr_with_std_fallback() -> None:
    mostly_zero = np.r_[np.zeros(90), np.arange(1.0, 11.0)]
    frame = pd.DataFrame({"a": np.arange(101.0), "shares": np.r_[mostly_zero, 5.0]})
    params = _fit(frame, features=["a", "shares"], scaling="robust")
    a, shares = params.numeric
    assert a.center == 50.0 and a.scale == pytest.approx(50.0 / 1.349)
    assert shares.scale == pytest.approx(np.std(frame["shares"]))  # IQR is 0


def test_missing_values_are_imputed_after_the_log() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan, 99.0, 9.0]})
    params = _fit(frame, features=["a"], log_features=["a"], scaling="none")
    assert params.numeric[0].impute == pytest.approx(np.log(10))
    assert apply_transform(params, frame)[1, 0] == pytest.approx(np.log(10))
    zero = _fit(frame, features=["a"], impute="zero", scaling="none")
    assert apply_transform(zero, frame)[1, 0] == 0.0


def test_constant_and_empty_features_are_dropped_with_a_reason() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "same": [4.0, 4.0, 4.0], "empty": [np.nan] * 3})
    params = _fit(frame, features=["a", "same", "empty"])
    assert params.input_columns == ["a"]
    assert params.dropped == {"same": "constant", "empty": "all values missing"}
    assert apply_transform(params, frame).shape == (3, 1)


def test_scale_group_shares_one_pooled_scale() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"cat_share__big": rng.random(500), "cat_share__rare": rng.random(500) * 0.01})
    params = _fit(frame, features=["cat_share__*"], scale_groups=["cat_share__*"])
    big, rare = params.numeric
    assert big.scale == rare.scale
    pooled = np.sqrt((frame["cat_share__big"].var(ddof=0) + frame["cat_share__rare"].var(ddof=0)) / 2)
    assert big.scale == pytest.approx(pooled)
    out = apply_transform(params, frame)
    assert out[:, 1].std() < 0.05 < out[:, 0].std()  # the rare column stays small


def test_one_hot_keeps_top_levels_and_ignores_unknown() -> None:
    frame = pd.DataFrame({"top_category": ["home", "home", "toys", None, "books"]})
    params = _fit(frame, features=["top_category"], categorical=["top_category"], one_hot_max_levels=2)
    assert params.categorical[0].levels == ("home", "books")  # ties broken by name
    out = apply_transform(params, pd.DataFrame({"top_category": ["home", "garden", None]}))
    assert out.tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]


def test_text_in_a_numeric_feature_is_a_clear_error() -> None:
    frame = pd.DataFrame({"a": ["1", "two", "3"]})
    with pytest.raises(FeatureError, match="column 'a': expected numbers, found 'two'"):
        _fit(frame, features=["a"])


def test_missing_input_column_at_scoring_is_a_clear_error() -> None:
    params = _fit(pd.DataFrame({"a": [1.0, 2.0]}), features=["a"])
    with pytest.raises(FeatureError, match=r"\['a'\]"):
        apply_transform(params, pd.DataFrame({"b": [1.0]}))


def test_parameters_round_trip_through_json() -> None:
    frame = pd.DataFrame({"a": [1.0, 5.0, 9.0], "c": ["x", "y", "x"]})
    params = _fit(frame, features=["a", "c"], categorical=["c"], log_features=["a"])
    restored = TransformParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert restored == params
    assert np.array_equal(apply_transform(restored, frame), apply_transform(params, frame))


def test_original_units_invert_the_transform() -> None:
    frame = pd.DataFrame({"a": [1.0, 10.0, 100.0]})
    params = _fit(frame, features=["a"], log_features=["a"])
    assert np.allclose(to_original_units(params, apply_transform(params, frame))[:, 0], frame["a"])


def test_rescale_points_maps_between_fits() -> None:
    old_frame = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) * 3})
    new_frame = pd.DataFrame({"a": np.arange(10.0) + 5, "c": np.arange(10.0)})
    old = _fit(old_frame, features=["a", "b"])
    new = _fit(new_frame, features=["a", "c"])
    points = apply_transform(old, pd.DataFrame({"a": [7.0], "b": [0.0]}))
    mapped, shared = rescale_points(old, new, points)
    assert shared.tolist() == [True, False]
    assert mapped[0, 0] == pytest.approx(apply_transform(new, pd.DataFrame({"a": [7.0], "c": [0.0]}))[0, 0])
    assert mapped[0, 1] == 0.0
