"""A small, hand-made warehouse with every relation the report reads.

The demo build has one run date and no sync ledger,
relation, so on its own it cannot show the migration, drift and sync sections. This
builder writes those relations to their documented contracts with known numbers, so
tests can check the figures the page shows and drop one relation at a time to check
that the page degrades to a note instead of failing.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

DATES = (date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1))
AS_OF = DATES[-1]
N_CUSTOMERS = 600
VIEWS = ("value", "behavioral", "channel")
FEATURES = ("recency_days", "frequency", "monetary_total")
SEGMENT_NAMES = {1: "Loyal big spenders", 2: "Lapsed one-timers", 3: "New and curious"}
RFM_NAMES = ("Champions", "Loyal", "At Risk", "Lost")
MAIN_RELATIONS = (
    "customer_rfm",
    "customer_features",
    "data_quality",
    "segment_assignments",
    "segment_profiles",
    "segment_models",
    "segment_transitions",
    "segment_drift",
)
SYNC_RELATIONS = ("sync_runs", "sync_state")


def _segment_of(customer: int, step: int) -> int:
    """Segment of a customer at run ``step``: every 10th customer moves each run."""
    base = customer % 3 + 1
    if customer % 10 == 0:
        return (base + step - 1) % 3 + 1
    return base


def build_synthetic_warehouse(path: Path, segment_name_override: str | None = None) -> Path:
    rng = np.random.default_rng(5)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists main")
        con.execute("create schema if not exists segments_sync")
        customers = np.arange(1, N_CUSTOMERS + 1)
        seg_now = np.array([_segment_of(int(c), len(DATES) - 1) for c in customers])
        recency = np.where(seg_now == 2, 400, 30) + rng.integers(0, 60, N_CUSTOMERS)
        frequency = np.where(seg_now == 1, 12, 2) + rng.integers(0, 3, N_CUSTOMERS)
        monetary = frequency * (50 + rng.integers(0, 40, N_CUSTOMERS))
        r_score = np.clip(5 - recency // 100, 1, 5)
        f_score = np.clip(frequency // 3 + 1, 1, 5)
        rfm_name = [RFM_NAMES[(int(r) + int(f)) % len(RFM_NAMES)] for r, f in zip(r_score, f_score, strict=True)]
        rfm = pd.DataFrame(
            {
                "customer_id": customers.astype("int64"),
                "as_of_date": AS_OF,
                "recency_days": recency.astype("int64"),
                "frequency": frequency.astype("int32"),
                "monetary_total": monetary.astype("float64"),
                "avg_order_value": monetary / frequency,
                "tenure_days": (recency + 100).astype("int64"),
                "r_score": r_score.astype("int32"),
                "f_score": f_score.astype("int32"),
                "m_score": 3,
                "rfm_cell": [f"{r}{f}3" for r, f in zip(r_score, f_score, strict=True)],
                "rfm_segment": rfm_name,
            }
        )
        con.register("rfm_frame", rfm)
        con.execute(
            "create table main.customer_rfm as select * exclude (monetary_total), "
            "cast(monetary_total as decimal(18, 2)) as monetary_total from rfm_frame"
        )
        con.execute(
            "create table main.customer_features as select customer_id, as_of_date, recency_days, "
            "frequency, cast(monetary_total as double) as monetary_total, 'x' as email "
            "from main.customer_rfm"
        )
        con.execute(
            "create table main.data_quality (table_name varchar, reason varchar, rows_excluded bigint, "
            "table_rows bigint, share double, as_of_date date)"
        )
        con.executemany(
            "insert into main.data_quality values (?, ?, ?, ?, ?, ?)",
            [
                ("order_lines", "null_customer_id", 12, 1000, 0.012, AS_OF),
                ("order_lines", "non_positive_quantity", 80, 1000, 0.08, AS_OF),
                ("customers", "duplicate_customer_id", 0, 600, 0.0, AS_OF),
            ],
        )
        # assignments, profiles, transitions per view over three run dates
        con.execute(
            "create table main.segment_assignments (customer_id bigint, as_of_date date, view varchar, "
            "segment_id integer, segment_name varchar, generated_name varchar, confidence double, "
            "model_version integer)"
        )
        con.execute(
            "create table main.segment_profiles (view varchar, as_of_date date, segment_id integer, "
            "segment_name varchar, generated_name varchar, model_version integer, size bigint, "
            "share double, avg_confidence double, feature_means varchar, feature_z_scores varchar, "
            "top_features varchar)"
        )
        names = dict(SEGMENT_NAMES)
        if segment_name_override is not None:
            names[1] = segment_name_override
        assignment_frames = []
        for step, day in enumerate(DATES):
            segs = np.array([_segment_of(int(c), step) for c in customers])
            for view in VIEWS:
                assignment_frames.append(
                    pd.DataFrame(
                        {
                            "customer_id": customers.astype("int64"),
                            "as_of_date": day,
                            "view": view,
                            "segment_id": segs.astype("int32"),
                            "segment_name": [names[int(x)] for x in segs],
                            "confidence": 0.8,
                            "model_version": 1,
                        }
                    )
                )
                for seg in (1, 2, 3):
                    size = int((segs == seg).sum())
                    means = {f: float(v) for f, v in zip(FEATURES, (100.0 * seg, 3.0 * seg, 500.0 / seg), strict=True)}
                    zs = {"recency_days": 1.2 * (seg - 2), "frequency": -0.9 * (seg - 2), "monetary_total": 0.1}
                    con.execute(
                        "insert into main.segment_profiles values (?, ?, ?, ?, ?, 1, ?, ?, 0.8, ?, ?, '{}')",
                        [
                            view,
                            day,
                            seg,
                            names[seg],
                            names[seg],
                            size,
                            size / N_CUSTOMERS,
                            json.dumps(means),
                            json.dumps(zs),
                        ],
                    )
        con.register("assignment_frame", pd.concat(assignment_frames, ignore_index=True))
        con.execute(
            "insert into main.segment_assignments select customer_id, as_of_date, view, segment_id, "
            "segment_name, segment_name, confidence, model_version from assignment_frame"
        )
        quality = {
            "k_selection": {
                "rule": "automatic",
                "k": 3,
                "reason": "at least two of silhouette, CH and DB agree",
                "candidates": [
                    {
                        "k": k,
                        "silhouette": 0.3 + 0.05 * (k == 3),
                        "calinski_harabasz": 400.0 + 10 * k,
                        "davies_bouldin": 1.2 - 0.1 * (k == 3),
                        "admissible": k < 6,
                        "smallest_share": 0.3 / k,
                    }
                    for k in range(2, 7)
                ],
            }
        }
        con.execute(
            "create table main.segment_models (view varchar, model_version integer, algorithm varchar, "
            "k integer, fitted_at timestamp, training_as_of_date date, fit_reason varchar, "
            "n_customers bigint, n_train bigint, silhouette double, calinski_harabasz double, "
            "davies_bouldin double, stability_ari double, max_drift_psi double, parameters varchar, "
            "quality varchar, is_latest boolean)"
        )
        for view in VIEWS:
            con.execute(
                "insert into main.segment_models values (?, 1, 'kmeans', 3, ?, ?, 'initial fit', ?, ?, "
                "0.35, 430.0, 1.1, 0.97, null, ?, ?, true)",
                [
                    view,
                    datetime(2026, 8, 1, 6, 0),
                    DATES[0],
                    N_CUSTOMERS,
                    N_CUSTOMERS,
                    json.dumps({"config": {"drift_threshold": 0.25}}),
                    json.dumps(quality),
                ],
            )
        con.execute(
            "create table main.segment_transitions (view varchar, from_date date, to_date date, "
            "from_segment_id integer, from_segment_name varchar, to_segment_id integer, "
            "to_segment_name varchar, customers bigint, probability double)"
        )
        for view in (*VIEWS, "rfm"):
            for step in range(1, len(DATES)):
                before = np.array([_segment_of(int(c), step - 1) for c in customers])
                after = np.array([_segment_of(int(c), step) for c in customers])
                for a in (1, 2, 3):
                    for b in (1, 2, 3):
                        n = int(((before == a) & (after == b)).sum())
                        if n:
                            con.execute(
                                "insert into main.segment_transitions values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                [
                                    view,
                                    DATES[step - 1],
                                    DATES[step],
                                    a,
                                    names[a],
                                    b,
                                    names[b],
                                    n,
                                    n / int((before == a).sum()),
                                ],
                            )
                # a few customers enter scope at every run
                con.execute(
                    "insert into main.segment_transitions values (?, ?, ?, null, null, 1, ?, 5, null)",
                    [view, DATES[step - 1], DATES[step], names[1]],
                )
        # segment_drift as the history stage builds it: one row per date, view and measure
        con.execute(
            "create table main.segment_drift (as_of_date date, view varchar, model_version integer, "
            "measure_type varchar, measure varchar, psi double, psi_threshold double, is_drifted boolean)"
        )
        for view in VIEWS:
            for day, scale in ((DATES[1], 0.5), (AS_OF, 1.0)):
                for feature, psi in zip(FEATURES, (0.31, 0.04, 0.12), strict=True):
                    con.execute(
                        "insert into main.segment_drift values (?, ?, 1, 'feature', ?, ?, 0.2, ?)",
                        [day, view, feature, psi * scale, psi * scale > 0.2],
                    )
                con.execute(
                    "insert into main.segment_drift values (?, ?, 1, 'segment_share', 'segment_id', ?, 0.2, false)",
                    [day, view, 0.02 * scale],
                )
        con.execute(
            "create table segments_sync.sync_runs (run_id varchar, destination varchar, started_at timestamp, "
            "ended_at timestamp, outcome varchar, n_considered integer, n_created integer, "
            "n_updated integer, n_unchanged integer, n_invalid integer, n_failed integer, "
            "n_pending integer, n_enrolled integer, api_calls integer, message varchar)"
        )
        start = datetime(2026, 10, 1, 7, 0)
        con.executemany(
            "insert into segments_sync.sync_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?, ?, ?)",
            [
                ("run-1", "hubspot", start, start + timedelta(minutes=2), "succeeded", 600, 590, 0, 0, 0, 12, 9, None),
                (
                    "run-2",
                    "salesforce",
                    start + timedelta(hours=1),
                    start + timedelta(hours=1, minutes=3),
                    "failed",
                    600,
                    0,
                    0,
                    0,
                    600,
                    0,
                    2,
                    "INVALID_SESSION_ID",
                ),
            ],
        )
        con.execute(
            "create table segments_sync.sync_state (destination varchar, record_type varchar, "
            "record_key varchar, value_hash varchar, destination_id varchar, confirmed_at timestamp, "
            "run_id varchar)"
        )
        con.execute(
            "insert into segments_sync.sync_state select 'hubspot', 'contact', cast(i as varchar), 'h', "
            "'hs-' || i, ?, 'run-1' from range(1, 591) as t(i)",
            [start],
        )
        con.execute(
            "insert into segments_sync.sync_state select 'hubspot', 'enrollment', 't' || i, 'h', "
            "'m' || i, ?, 'run-1' from range(12) as t(i)",
            [start],
        )
    finally:
        con.close()
    return path
