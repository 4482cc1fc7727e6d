"""Readable, deterministic, unique segment names from z-scores."""

from __future__ import annotations

from segmentation.naming import name_segments, phrase_for, segment_name


def test_value_names_read_in_a_fixed_order() -> None:
    name = segment_name({"recency_days": -1.2, "frequency": 1.5, "monetary_total": 2.0, "avg_order_value": 0.1})
    assert name == "High value, frequent, recent"


def test_lapsed_bargain_hunters() -> None:
    assert segment_name({"recency_days": 1.4, "discount_share": 2.0, "frequency": 0.2}) == "Lapsed, bargain hunters"


def test_glob_features_use_their_suffix() -> None:
    assert phrase_for("cat_share__home_garden", 1.0).text == "home garden focused"  # type: ignore[union-attr]
    assert phrase_for("chan_share__app", 2.0).text == "app-first"  # type: ignore[union-attr]
    assert phrase_for("events_per_month__web_visit", -1.0).text == "quiet on web visit"  # type: ignore[union-attr]
    assert phrase_for("chan_share__app", -2.0) is None  # "not app" says little
    assert phrase_for("mystery_metric", 0.8).text == "high mystery metric"  # type: ignore[union-attr]


def test_unremarkable_segment() -> None:
    assert segment_name({"frequency": 0.1, "recency_days": None}) == "Typical customers"


def test_names_are_unique_and_deterministic() -> None:
    z = {
        3: {"frequency": 1.0, "monetary_total": 1.0, "tenure_days": 0.6},
        1: {"frequency": 1.0, "monetary_total": 1.0, "tenure_days": -0.7},
        2: {"frequency": 1.0, "monetary_total": 1.0},
    }
    names = name_segments(z)
    assert names == name_segments(dict(reversed(list(z.items()))))
    assert len(set(names.values())) == 3
    assert names[1] == "High value, frequent, new"  # lowest id keeps the short form
    assert names[2] == "High value, frequent"


def test_kept_names_are_reserved_and_outliers_named() -> None:
    z = {0: {"frequency": 3.0}, 1: {"frequency": 1.0}, 2: {"frequency": 1.0}}
    names = name_segments(z, outlier_id=0, keep={2: "Frequent"})
    assert names[0] == "Outliers"
    assert names[2] == "Frequent"
    assert names[1] == "Frequent (segment 1)"


def test_weak_features_top_up_a_one_phrase_name() -> None:
    assert segment_name({"recency_days": -0.7, "monetary_total": 0.33, "frequency": 0.32}) == "High value, recent"
    assert segment_name({"recency_days": -0.7, "frequency": 0.2}) == "Recent"  # 0.2 is too weak


def test_two_measures_of_one_behaviour_give_one_phrase() -> None:
    """A low open rate and few opens per month are one fact; the name moves on to the next one."""
    name = segment_name(
        {
            "chan_share__marketplace": 2.5,
            "email_open_rate": -1.8,
            "events_per_month__email_open": -1.6,
            "events_per_month__email_click": -1.2,
            "email_click_rate": -1.0,
            "recency_days": 0.9,
        }
    )
    assert name == "Marketplace-first, email unresponsive, quiet on email click"
