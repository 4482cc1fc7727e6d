"""Streaming profiles and PSI drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.drift import DriftReference, build_reference, psi
from segmentation.profiles import ProfileAccumulator, profile_frame


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "spend": [10.0, 20.0, 30.0, 1000.0, 2000.0, np.nan],
            "top": ["a", "a", "b", "b", "b", None],
        }
    )


def test_profile_sizes_shares_and_means() -> None:
    profiles = profile_frame(_frame(), np.array([1, 1, 1, 2, 2, 2]), ["spend"], {"top": ["a", "b"]})
    one, two = profiles
    assert (one.size, two.size) == (3, 3)
    assert one.share == pytest.approx(0.5)
    assert one.means["spend"] == pytest.approx(20.0)
    assert two.means["spend"] == pytest.approx(1500.0)  # NaN ignored
    assert one.means["top=a"] == pytest.approx(2 / 3)
    assert one.z_scores["spend"] is not None and one.z_scores["spend"] < 0 < two.z_scores["spend"]  # type: ignore[operator]


def test_streaming_equals_one_shot() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.random(1000), "b": rng.random(1000) * 100})
    segments = rng.integers(1, 5, 1000)
    acc = ProfileAccumulator(["a", "b"], log_features=["b"])
    for start in range(0, 1000, 333):
        acc.add(segments[start : start + 333], frame.iloc[start : start + 333])
    streamed = acc.result()
    whole = profile_frame(frame, segments, ["a", "b"], log_features=["b"])
    for s, w in zip(streamed, whole, strict=True):
        assert s.size == w.size
        assert s.means == pytest.approx(w.means)
        assert s.z_scores == pytest.approx(w.z_scores)
    assert sum(p.share for p in streamed) == pytest.approx(1.0)


def test_log_features_z_scores_on_the_log_scale() -> None:
    spend = np.array([10.0, 20.0, 40.0, 5000.0])
    frame = pd.DataFrame({"spend": spend})
    profiles = profile_frame(frame, np.array([1, 1, 2, 2]), ["spend"], log_features=["spend"])
    logged = np.log1p(spend)
    expected = (logged[:2].mean() - logged.mean()) / logged.std()
    assert profiles[0].z_scores["spend"] == pytest.approx(expected)
    assert profiles[0].means["spend"] == pytest.approx(15.0)  # means stay in the feature's units


def test_psi_is_zero_for_the_same_data_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, (5000, 2))
    reference = build_reference(train, ["a", "b"])
    same = psi(reference, rng.normal(0, 1, (5000, 2)))
    assert max(same.values()) < 0.02
    shifted = np.column_stack([rng.normal(1.0, 1, 5000), rng.normal(0, 1, 5000)])
    moved = psi(reference, shifted)
    assert moved["a"] > 0.25 > moved["b"]


def test_drift_reference_round_trips() -> None:
    reference = build_reference(np.arange(100.0).reshape(50, 2), ["a", "b"])
    assert DriftReference.from_dict(reference.to_dict()) == reference
    assert psi(reference, np.empty((0, 2))) == {}


def test_binary_columns_have_finite_psi() -> None:
    reference = build_reference(np.array([[0.0], [1.0]] * 50), ["flag"])
    assert np.isfinite(psi(reference, np.ones((10, 1)))["flag"])
