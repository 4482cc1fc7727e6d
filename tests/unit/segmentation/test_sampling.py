"""Bottom-k sampling: deterministic, independent of row order, streamable."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.sampling import BottomKSampler, bottom_k, stable_hash, subsample_indices


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": np.arange(n, dtype=np.int64), "x": np.arange(n) * 2.0})


def test_hash_is_stable_and_seeded() -> None:
    ids = pd.Series([1, 2, 3], dtype="int64")
    assert np.array_equal(stable_hash(ids, 1), stable_hash(ids, 1))
    assert not np.array_equal(stable_hash(ids, 1), stable_hash(ids, 2))
    text = stable_hash(pd.Series(["a", "b", "c"]), 1)
    assert text.dtype == np.uint64 and len(set(text.tolist())) == 3


def test_sample_does_not_depend_on_row_order() -> None:
    frame = _frame(5000)
    shuffled = frame.sample(frac=1.0, random_state=3)
    a = bottom_k(frame, 500, seed=42)
    b = bottom_k(shuffled, 500, seed=42)
    assert a["customer_id"].tolist() == b["customer_id"].tolist()
    assert len(a) == 500 and a["customer_id"].is_unique


def test_streaming_sampler_equals_one_shot() -> None:
    frame = _frame(10_000)
    sampler = BottomKSampler(cap=700, seed=5)
    for start in range(0, len(frame), 1234):
        sampler.add(frame.iloc[start : start + 1234])
    assert sampler.rows_seen == 10_000
    assert sampler.result()["customer_id"].tolist() == bottom_k(frame, 700, seed=5)["customer_id"].tolist()


def test_sample_keeps_most_customers_when_a_few_are_added() -> None:
    before = set(bottom_k(_frame(10_000), 1000, seed=1)["customer_id"])
    after = set(bottom_k(_frame(10_500), 1000, seed=1)["customer_id"])
    assert len(before & after) >= 900


def test_small_frames_are_returned_whole() -> None:
    assert len(bottom_k(_frame(10), 100, seed=1)) == 10
    assert BottomKSampler(5, 1).result().empty


def test_subsample_indices_bounded_and_sorted() -> None:
    idx = subsample_indices(1000, 100, seed=1)
    assert len(idx) == 100 and np.all(np.diff(idx) > 0)
    assert np.array_equal(subsample_indices(50, 100, seed=1), np.arange(50))
