"""The seed-style way to compute the same features: load into pandas, groupby, pivot.

This is the baseline the dbt feature stage is measured against in
``bench_features.py``. It follows the same definitions (counting lines,
point in time, line revenue, RFM, category revenue shares, channel order
shares) so the two do the same work.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


def compute(path: Path) -> dict[str, float]:
    """Compute RFM, category shares and channel shares; return timings per step in seconds."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    lines = con.sql("select * from raw.order_lines").df()
    products = con.sql("select product_id, category from raw.products").df()
    con.close()
    timings["load"] = time.perf_counter() - started

    step = time.perf_counter()
    status = lines["status"].str.strip().str.lower()
    valid = (
        lines["customer_id"].notna()
        & lines["ordered_at"].notna()
        & (lines["quantity"] > 0)
        & lines["unit_price"].notna()
        & (status.isna() | status.isin(["completed", "cancelled", "returned"]))
        & ~lines.duplicated(["order_id", "line_number"])
    )
    lines = lines[valid & ~status.isin(["cancelled", "returned"])]
    as_of = lines["ordered_at"].max().normalize() + pd.Timedelta(days=1)
    lines = lines[lines["ordered_at"] < as_of].copy()
    quantity = lines["quantity"].astype("float64")
    price = lines["unit_price"].astype("float64")
    discount = lines["discount"].astype("float64").fillna(0.0)
    lines["revenue"] = quantity * price - discount
    lines["order_date"] = lines["ordered_at"].dt.normalize()

    orders = lines.groupby(["customer_id", "order_id"], sort=False).agg(
        order_date=("order_date", "min"), revenue=("revenue", "sum"), channel=("channel", "min")
    )
    rfm = orders.groupby(level="customer_id").agg(
        last=("order_date", "max"),
        first=("order_date", "min"),
        frequency=("revenue", "size"),
        monetary=("revenue", "sum"),
    )
    rfm["recency_days"] = (as_of - rfm["last"]).dt.days
    rfm["tenure_days"] = (as_of - rfm["first"]).dt.days
    rfm["avg_order_value"] = rfm["monetary"] / rfm["frequency"]
    n = len(rfm)
    for name, column, ascending in (
        ("r", "recency_days", False),
        ("f", "frequency", True),
        ("m", "monetary", True),
    ):
        ranks = rfm[column].rank(method="min", ascending=ascending)
        rfm[f"{name}_score"] = np.minimum(5, 1 + np.floor(5 * (ranks - 1) / max(n - 1, 1))).astype(int)
    timings["rfm"] = time.perf_counter() - step

    step = time.perf_counter()
    lines = lines.merge(products.astype({"product_id": lines["product_id"].dtype}), on="product_id", how="left")
    by_category = lines.pivot_table(
        index="customer_id", columns="category", values="revenue", aggfunc="sum", fill_value=0.0
    )
    category_shares = by_category.div(by_category.sum(axis=1), axis=0)
    concentration = (category_shares**2).sum(axis=1)
    timings["category_shares"] = time.perf_counter() - step

    step = time.perf_counter()
    channel_orders = orders.reset_index().pivot_table(
        index="customer_id", columns="channel", values="order_id", aggfunc="count", fill_value=0
    )
    channel_shares = channel_orders.div(channel_orders.sum(axis=1), axis=0)
    timings["channel_shares"] = time.perf_counter() - step

    features = rfm.join(category_shares.add_prefix("cat_share__")).join(channel_shares.add_prefix("chan_share__"))
    features["category_concentration"] = concentration
    timings["customers"] = float(len(features))
    timings["total"] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("duckdb_path", type=Path)
    args = parser.parse_args()
    print(json.dumps(compute(args.duckdb_path)))


if __name__ == "__main__":
    main()
