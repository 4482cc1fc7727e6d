"""Fit, refit and score a view end to end on synthetic customers, and the edge cases."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.config import parse_view_config
from segmentation.model_store import SegmentModel, model_for_date, models_frame, models_from_frame
from segmentation.pipeline import ViewSkipped, decide_refit, fit_view, score_frame
from tests.unit.segmentation.conftest import value_customers, value_settings

AS_OF = date(2026, 11, 1)
NOW = datetime(2026, 11, 2, 3, 4, 5)


def _fit(frame: pd.DataFrame, previous: SegmentModel | None = None, **settings: object) -> SegmentModel:
    config = parse_view_config(value_settings(**settings))
    history_max = 0 if previous is None else previous.max_segment_id
    return fit_view(
        frame,
        config,
        as_of_date=AS_OF,
        previous=previous,
        version=1 if previous is None else previous.model_version + 1,
        max_segment_id=history_max,
        n_customers=len(frame),
        fit_reason="test",
        fitted_at=NOW,
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return value_customers(4000, seed=1)


@pytest.fixture(scope="module")
def model(frame: pd.DataFrame) -> SegmentModel:
    return _fit(frame)


def test_recovers_planted_personas_with_automatic_k(frame: pd.DataFrame, model: SegmentModel) -> None:
    assert model.k == 4
    assigned = score_frame(model, frame)
    assert adjusted_rand_score(frame["truth"], assigned["segment_id"]) > 0.95
    assert assigned["confidence"].between(0, 1).all()
    assert model.segment_ids == (1, 2, 3, 4)
    assert model.quality["k_selection"]["rule"] == "automatic"
    assert model.quality["silhouette"] > 0.5 and model.quality["stability_ari"] > 0.9
    assert set(model.quality["segment_jaccard"]) == {"1", "2", "3", "4"}


def test_names_describe_the_segments(frame: pd.DataFrame, model: SegmentModel) -> None:
    assigned = score_frame(model, frame)
    champions = assigned.loc[frame["truth"] == "champions", "segment_name"].mode()[0]
    lapsed = assigned.loc[frame["truth"] == "lapsed", "segment_name"].mode()[0]
    assert "High value" in champions and "frequent" in champions
    assert "lapsed" in lapsed.lower() and "low value" in lapsed.lower()
    assert len(set(model.segment_names.values())) == model.k


def test_scoring_is_deterministic_and_chunk_independent(frame: pd.DataFrame, model: SegmentModel) -> None:
    whole = score_frame(model, frame, chunk_size=10_000)
    chunked = score_frame(model, frame.sample(frac=1.0, random_state=0), chunk_size=333)
    merged = whole.merge(chunked, on="customer_id", suffixes=("", "_chunked"))
    assert (merged["segment_id"] == merged["segment_id_chunked"]).all()
    assert np.allclose(merged["confidence"], merged["confidence_chunked"])
    assert list(whole.columns) == [
        "customer_id",
        "as_of_date",
        "view",
        "segment_id",
        "segment_name",
        "confidence",
        "model_version",
    ]


def test_model_round_trips_through_its_table_row(frame: pd.DataFrame, model: SegmentModel) -> None:
    stored = models_frame([model])
    assert stored.loc[0, "k"] == 4 and json.loads(str(stored.loc[0, "segment_ids"])) == [1, 2, 3, 4]
    restored = models_from_frame(stored)[0]
    assert restored.segment_names == model.segment_names
    assert restored.training_as_of_date == AS_OF
    pd.testing.assert_frame_equal(score_frame(restored, frame), score_frame(model, frame))


def test_refit_on_the_same_data_keeps_ids(frame: pd.DataFrame, model: SegmentModel) -> None:
    refit = _fit(frame, previous=model)
    before = score_frame(model, frame)["segment_id"]
    after = score_frame(refit, frame)["segment_id"]
    assert (before == after).mean() >= 0.99
    assert refit.quality["matching"]["new_ids"] == []
    assert refit.segment_names == model.segment_names


def test_refit_after_shuffled_and_grown_data_keeps_unchanged_customers(
    frame: pd.DataFrame, model: SegmentModel
) -> None:
    grown = pd.concat([frame, value_customers(1000, seed=9, start_id=10_000)]).sample(frac=1.0, random_state=2)
    refit = _fit(grown, previous=model)
    same = score_frame(refit, frame)["segment_id"] == score_frame(model, frame)["segment_id"]
    assert same.mean() >= 0.95


def test_new_behaviour_gets_a_new_id_and_old_ids_are_not_reused(frame: pd.DataFrame, model: SegmentModel) -> None:
    whales = value_customers(800, seed=5, start_id=50_000)
    whales["frequency"] = 200
    whales["avg_order_value"] = 5000.0
    whales["monetary_total"] = 1_000_000.0
    whales["recency_days"] = 1
    refit = _fit(pd.concat([frame, whales]), previous=model, k=5)
    assert refit.k == 5
    assert refit.quality["matching"]["new_ids"] == [5]
    assigned = score_frame(refit, whales)
    assert (assigned["segment_id"] == 5).mean() > 0.95
    assert refit.max_segment_id == 5

    # dropping the whales again: segment 5 retires and a later new segment would be 6
    third = _fit(frame, previous=refit, k=4)
    assert 5 in third.quality["matching"]["retired_ids"]
    assert third.max_segment_id == 5


@pytest.mark.parametrize("algorithm", ["gmm", "minibatch_kmeans", "ward"])
def test_other_algorithms_through_the_pipeline(frame: pd.DataFrame, algorithm: str) -> None:
    model = _fit(frame, algorithm=algorithm, k=4, stability_resamples=2)
    assigned = score_frame(model, frame)
    assert adjusted_rand_score(frame["truth"], assigned["segment_id"]) > 0.9
    assert assigned["confidence"].between(0, 1).all()
    if algorithm == "gmm":
        assert assigned["confidence"].median() > 0.9  # posteriors of well separated personas


def test_hdbscan_outliers_form_segment_zero(frame: pd.DataFrame) -> None:
    odd = value_customers(5, seed=3, start_id=90_000)
    odd["frequency"] = [500, 1, 300, 700, 900]
    odd["monetary_total"] = [1e7, 1.0, 5e6, 1e8, 3e7]
    model = _fit(pd.concat([frame, odd]), algorithm="hdbscan", hdbscan_min_cluster_size=50)
    assert model.has_outliers and model.segment_names[0] == "Outliers"
    assert 0 not in model.segment_ids
    assigned = score_frame(model, odd)
    assert (assigned["segment_id"] == 0).sum() >= 4
    assert (assigned.loc[assigned["segment_id"] == 0, "segment_name"] == "Outliers").all()


# ----------------------------------------------------------------------- edge cases


def test_fewer_customers_than_k() -> None:
    frame = value_customers(3, seed=2)
    model = _fit(frame, k=5)
    assert model.k == 3
    assert sorted(score_frame(model, frame)["segment_id"]) == [1, 2, 3]


def test_single_customer_gets_one_confident_segment() -> None:
    frame = value_customers(1)
    model = _fit(frame)
    assert model.k == 1
    assigned = score_frame(model, frame)
    assert assigned["segment_id"].tolist() == [1] and assigned["confidence"].tolist() == [1.0]
    assert model.quality["silhouette"] is None and model.quality["stability_ari"] is None


def test_constant_features_are_dropped_and_reported() -> None:
    frame = value_customers(500, seed=3)
    frame["frequency"] = 2
    model = _fit(frame)
    assert model.quality["dropped_features"] == {"frequency": "constant"}
    assert "frequency" not in model.features
    assert score_frame(model, frame)["segment_id"].notna().all()


def test_view_without_any_usable_feature_is_skipped() -> None:
    frame = value_customers(50)
    frame["recency_days"] = 7
    frame["frequency"] = 7
    frame["monetary_total"] = np.nan
    frame["avg_order_value"] = np.nan
    with pytest.raises(ViewSkipped, match="no usable feature") as err:
        _fit(frame)
    assert "'monetary_total': 'all values missing'" in str(err.value)
    assert "'frequency': 'constant'" in str(err.value)


def test_nan_features_are_imputed_not_dropped(frame: pd.DataFrame) -> None:
    holey = frame.copy()
    holey.loc[holey.index[::7], "avg_order_value"] = np.nan
    model = _fit(holey)
    assigned = score_frame(model, holey)
    assert len(assigned) == len(holey) and assigned["segment_id"].notna().all()
    assert adjusted_rand_score(holey["truth"], assigned["segment_id"]) > 0.8


def test_one_usable_feature(frame: pd.DataFrame) -> None:
    model = _fit(frame, features=["recency_days", "not_there"])
    assert model.features == ("recency_days",)
    assert model.k >= 2
    assert score_frame(model, frame)["segment_id"].nunique() == model.k


def test_view_without_features_or_customers_is_skipped(frame: pd.DataFrame) -> None:
    with pytest.raises(ViewSkipped, match="none of the configured features"):
        _fit(frame, features=["cat_share__*"])
    with pytest.raises(ViewSkipped, match="no customers"):
        _fit(frame.iloc[:0])


def test_decide_refit_reasons(frame: pd.DataFrame, model: SegmentModel) -> None:
    config = parse_view_config(value_settings())
    assert decide_refit(None, config, frame, False).reason == "initial fit"
    assert decide_refit(model, config, frame, True).reason == "refit requested"
    reuse = decide_refit(model, config, frame, False)
    assert not reuse.fit and reuse.max_psi is not None and reuse.max_psi < 0.05
    changed = parse_view_config(value_settings(k=3))
    assert decide_refit(model, changed, frame, False).reason == "view configuration changed"
    missing = decide_refit(model, config, frame.drop(columns=["frequency"]), False)
    assert missing.fit and "no longer present" in missing.reason
    drifted = frame.assign(recency_days=frame["recency_days"] * 20)
    decision = decide_refit(model, config, drifted, False)
    assert decision.fit and decision.reason.startswith("drift: PSI") and "recency_days" in decision.reason


def test_model_for_date_uses_what_was_known_then(model: SegmentModel) -> None:
    from dataclasses import replace

    older = replace(model, model_version=1, training_as_of_date=date(2026, 9, 1))
    newer = replace(model, model_version=2, training_as_of_date=date(2026, 11, 1))
    assert model_for_date([older, newer], date(2026, 10, 1)) is older
    assert model_for_date([older, newer], date(2026, 12, 1)) is newer
    assert model_for_date([newer], date(2026, 10, 1)) is None
