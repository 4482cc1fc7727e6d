"""Deterministic, order-independent sampling of customers.

The training sample is the ``cap`` customers with the smallest seeded hash of their id
(a bottom-k sample). Compared with ``DataFrame.sample`` this has three properties the
segmentation relies on:

* it does not depend on row order, so two builds over the same table pick the same
  customers even when the warehouse returns rows in a different order;
* a customer in this month's sample is very likely in next month's, which keeps refits
  close to the previous model;
* it can be computed over a stream of batches in bounded memory (:class:`BottomKSampler`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a fast, well-mixed 64-bit integer hash."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (z ^ (z >> np.uint64(31))) & _MASK


def stable_hash(ids: pd.Series | np.ndarray, seed: int) -> np.ndarray:
    """Seeded 64-bit hash of customer ids, identical across runs and platforms.

    Integer ids are hashed arithmetically; other types go through pandas' fixed-key
    object hash first. The seed is mixed in so different views can draw different
    samples if they want to.
    """
    series = pd.Series(ids) if not isinstance(ids, pd.Series) else ids
    base: np.ndarray
    if pd.api.types.is_integer_dtype(series.dtype) and not series.isna().any():
        base = series.to_numpy(dtype=np.int64).view(np.uint64)
    else:
        base = pd.util.hash_pandas_object(series.astype("string"), index=False).to_numpy()
    seeded = base ^ _splitmix64(np.array([seed], dtype=np.uint64))[0]
    return _splitmix64(seeded)


def bottom_k(frame: pd.DataFrame, cap: int, seed: int, id_column: str = "customer_id") -> pd.DataFrame:
    """The ``cap`` rows of ``frame`` with the smallest hash, ordered by that hash."""
    if len(frame) == 0:
        return frame.copy()
    hashes = stable_hash(frame[id_column], seed)
    if len(frame) <= cap:
        order = np.argsort(hashes, kind="stable")
    else:
        part = np.argpartition(hashes, cap - 1)[:cap]
        order = part[np.argsort(hashes[part], kind="stable")]
    return frame.iloc[order].reset_index(drop=True)


class BottomKSampler:
    """Streaming bottom-k sample: feed batches, memory stays at ``cap`` rows."""

    def __init__(self, cap: int, seed: int, id_column: str = "customer_id") -> None:
        if cap < 1:
            raise ValueError(f"sample cap must be >= 1, got {cap}")
        self.cap = cap
        self.seed = seed
        self.id_column = id_column
        self.rows_seen = 0
        self._sample: pd.DataFrame | None = None

    def add(self, batch: pd.DataFrame) -> None:
        self.rows_seen += len(batch)
        if len(batch) == 0:
            return
        combined = batch if self._sample is None else pd.concat([self._sample, batch], ignore_index=True)
        self._sample = bottom_k(combined, self.cap, self.seed, self.id_column)

    def result(self) -> pd.DataFrame:
        if self._sample is None:
            return pd.DataFrame()
        return self._sample


def subsample_indices(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted random row indices (without replacement) for metrics on a subsample."""
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=size, replace=False))
