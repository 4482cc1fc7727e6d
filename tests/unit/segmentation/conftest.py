"""Synthetic customers with planted segments, for the segmentation unit tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

VALUE_FEATURES = ["recency_days", "frequency", "monetary_total", "avg_order_value"]

# (recency_days, frequency, avg_order_value) per planted persona
PERSONAS = {
    "champions": (10.0, 25.0, 180.0),
    "loyal": (40.0, 8.0, 90.0),
    "at_risk": (300.0, 8.0, 90.0),
    "lapsed": (800.0, 1.0, 30.0),
}


def value_customers(n: int, seed: int = 0, start_id: int = 1) -> pd.DataFrame:
    """Customers drawn from four well-separated value personas (log-normal noise)."""
    rng = np.random.default_rng(seed)
    names = list(PERSONAS)
    truth = rng.integers(0, len(names), n)
    centres = np.array([PERSONAS[names[t]] for t in truth])
    noise = np.exp(rng.normal(0.0, 0.15, (n, 3)))
    recency = np.maximum(1, np.round(centres[:, 0] * noise[:, 0]))
    frequency = np.maximum(1, np.round(centres[:, 1] * noise[:, 1]))
    aov = centres[:, 2] * noise[:, 2]
    return pd.DataFrame(
        {
            "customer_id": np.arange(start_id, start_id + n, dtype=np.int64),
            "as_of_date": pd.Timestamp("2026-11-01"),
            "recency_days": recency.astype(np.int64),
            "frequency": frequency.astype(np.int64),
            "monetary_total": frequency * aov,
            "avg_order_value": aov,
            "truth": [names[t] for t in truth],
        }
    )


def value_settings(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "view": "value",
        "features": list(VALUE_FEATURES),
        "log_features": list(VALUE_FEATURES),
        "scaling": "standard",
        "k_min": 2,
        "k_max": 6,
        "stability_resamples": 2,
        "stability_sample": 1000,
        "k_selection_sample": 1500,
        "silhouette_sample": 600,
        "n_init": 3,
    }
    base.update(overrides)
    return base
