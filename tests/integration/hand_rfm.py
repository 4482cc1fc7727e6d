"""RFM computed by hand, row by row, straight from the DESIGN.md definitions.

Deliberately naive (plain Python, Decimal money) so that it shares no code or
idiom with the SQL it checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.dbt_harness import query_duckdb

# The documented default of var segments_excluded_statuses; every other status counts.
EXCLUDED_STATUSES = {"cancelled", "canceled", "returned", "refunded", "voided", "failed"}


@dataclass(frozen=True)
class HandRfm:
    recency_days: int
    frequency: int
    monetary_total: Decimal
    tenure_days: int


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def hand_rfm(
    duckdb_path: Path, as_of: dt.date | None = None, table: str = "raw.order_lines"
) -> tuple[dt.date, dict[object, HandRfm]]:
    """Return (as_of_date, {customer_id: HandRfm}) for the order lines in ``table`` (schema.name) of the file."""
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        columns = _columns(con, table)
        rows = [dict(zip(columns, r, strict=True)) for r in con.execute(f"select * from {table}").fetchall()]
    finally:
        con.close()

    seen_keys: set[tuple[object, ...]] = set()
    valid = []
    for row in rows:
        if row["customer_id"] is None or row["ordered_at"] is None:
            continue
        if row["quantity"] is None or row["quantity"] <= 0 or row["unit_price"] is None:
            continue
        status = row.get("status")
        status = (status.strip().lower() or None) if status is not None else None
        # Only a line key makes a copy a duplicate; without line_number identical rows all count.
        if "line_number" in row:
            key: tuple[object, ...] = (row["order_id"], row["line_number"])
            if key in seen_keys:
                continue
            seen_keys.add(key)
        valid.append((row, status))

    if as_of is None:
        as_of = max(row["ordered_at"].date() for row, _ in valid) + dt.timedelta(days=1)

    orders: dict[object, dict[object, dt.date]] = {}
    money: dict[object, Decimal] = {}
    for row, status in valid:
        if status in EXCLUDED_STATUSES or row["ordered_at"].date() >= as_of:
            continue
        customer = row["customer_id"]
        revenue = Decimal(str(row["quantity"])) * Decimal(str(row["unit_price"]))
        if row.get("discount") is not None:
            revenue -= Decimal(str(row["discount"]))
        money[customer] = money.get(customer, Decimal(0)) + revenue
        order_dates = orders.setdefault(customer, {})
        day = row["ordered_at"].date()
        order_dates[row["order_id"]] = min(order_dates.get(row["order_id"], day), day)

    result = {}
    for customer, order_dates in orders.items():
        days = list(order_dates.values())
        result[customer] = HandRfm(
            recency_days=(as_of - max(days)).days,
            frequency=len(order_dates),
            monetary_total=money[customer],
            tenure_days=(as_of - min(days)).days,
        )
    return as_of, result


def assert_rfm_matches_hand(
    path: Path, as_of: dt.date | None = None, table: str = "raw.order_lines", rfm: str = "main.customer_rfm"
) -> int:
    """Check ``rfm`` (customer_rfm) against the hand computation for every customer; return how many there are."""
    expected_as_of, expected = hand_rfm(path, as_of, table)
    rows = query_duckdb(
        path,
        "select customer_id, as_of_date, recency_days, frequency, monetary_total, tenure_days, "
        f"avg_order_value from {rfm}",
    )
    assert {r[0] for r in rows} == set(expected), "customers in scope differ from the hand computation"
    for customer_id, as_of_date, recency, frequency, monetary, tenure, aov in rows:
        hand = expected[customer_id]
        assert as_of_date == expected_as_of
        assert (recency, frequency, tenure) == (
            hand.recency_days,
            hand.frequency,
            hand.tenure_days,
        ), customer_id
        assert Decimal(str(monetary)).quantize(Decimal("0.01")) == hand.monetary_total.quantize(Decimal("0.01")), (
            customer_id
        )
        assert aov == pytest.approx(float(hand.monetary_total) / hand.frequency, abs=0.005)
    return len(rows)
