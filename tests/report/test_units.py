"""Small pure pieces: labels, suggested actions, traits, PCA."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.report.actions import RFM_ACTIONS, rfm_action, segment_action
from segmentation.report.data import _pca_2d, traits_of
from segmentation.report.labels import feature_label, format_feature_value


@pytest.mark.parametrize(
    ("column", "long", "short"),
    [
        ("recency_days", "Days since last order", "Days since last order"),
        ("cat_share__home_garden", "Home garden share of revenue", "Home garden (revenue)"),
        ("chan_share__web", "Web share of orders", "Web (orders)"),
        ("events_per_month__email_open", "Email open events per month", "Email open / mo"),
        ("top_category=books", "Top category: books", "Top category: books"),
        ("some_new_metric", "Some new metric", "Some new metric"),
    ],
)
def test_feature_labels(column: str, long: str, short: str) -> None:
    assert feature_label(column) == long
    assert feature_label(column, short=True) == short


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        ("cat_share__home", 0.327, "33%"),
        ("email_open_rate", 0.5, "50%"),
        ("recency_days", 782.6, "783 d"),
        ("monetary_total", 1470.5, "1,470"),
        ("events_per_month__web_visit", 0.1234, "0.12/mo"),
        ("frequency", 12.333, "12.33"),
        ("frequency", None, "–"),
        ("frequency", float("nan"), "–"),
    ],
)
def test_feature_values_in_their_unit(column: str, value: float | None, text: str) -> None:
    assert format_feature_value(column, value) == text


def test_value_actions_follow_the_profile() -> None:
    lapsed_vip = {"recency_days": 0.8, "monetary_total": 1.2, "frequency": 0.9}
    active_vip = {"recency_days": -1.0, "monetary_total": 1.5, "frequency": 1.4}
    lapsed_low = {"recency_days": 1.2, "monetary_total": -1.0, "frequency": -1.0}
    fresh = {"recency_days": -0.9, "monetary_total": -0.6, "frequency": -0.9}
    assert segment_action("value", lapsed_vip).startswith("Win back")
    assert segment_action("value", active_vip).startswith("Retain and reward")
    assert segment_action("value", lapsed_low).startswith("Low-cost reactivation")
    assert segment_action("value", fresh).startswith("Build the habit")
    assert segment_action("value", {}).startswith("Nurture")


def test_behavioral_and_channel_actions_name_the_category_and_channel() -> None:
    behavioral = segment_action(
        "behavioral",
        {"cat_share__home": 1.5, "cat_share__kitchen": 1.4, "cat_share__toys": -0.5, "discount_share": 2.0},
    )
    assert "home and kitchen" in behavioral and "toys" not in behavioral
    assert "Price-sensitive" in behavioral
    channel = segment_action("channel", {"chan_share__app": 1.6, "email_open_rate": -0.8})
    assert "push notifications" in channel and "Email goes unread" in channel
    assert segment_action("channel", {}, outlier=True).startswith("Unusual customers")


def test_every_rfm_cell_of_the_grid_seed_has_an_action() -> None:
    import csv
    from pathlib import Path

    seed = Path(__file__).resolve().parents[2] / "seeds" / "segments__rfm_segment_grid.csv"
    with seed.open() as handle:
        names = {row["rfm_segment"] for row in csv.DictReader(handle)}
    assert names <= set(RFM_ACTIONS)
    assert rfm_action("Something new").startswith("Review")


def test_traits_are_the_largest_deviations_above_the_bar() -> None:
    traits = traits_of(
        {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0},
        {"a": 0.2, "b": -1.5, "c": 0.9, "d": None},
    )
    assert [(t.feature, t.direction) for t in traits] == [("b", "low"), ("c", "high")]


def test_pca_finds_the_main_axis_with_a_stable_sign() -> None:
    rng = np.random.default_rng(0)
    t = rng.normal(size=500)
    points = np.column_stack([3 * t, 0.1 * rng.normal(size=500), -3 * t])
    _, axes, explained = _pca_2d(points)
    assert explained[0] > 0.99 and explained[0] + explained[1] <= 1.0 + 1e-9
    assert abs(axes[0, 0]) == pytest.approx(abs(axes[0, 2]), rel=1e-3)
    assert axes[0][np.argmax(np.abs(axes[0]))] > 0
    # flipping the data does not flip the picture
    _, flipped, _ = _pca_2d(-points)
    assert flipped[0] == pytest.approx(axes[0])
