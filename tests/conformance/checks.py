"""Build a shop with dbt and check the warehouse against the independent expectation."""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.conformance.shops import Expected, Shop, Types, expected, write_duckdb
from tests.dbt_harness import REPO_ROOT, DbtResult, failure_summary, query_duckdb, run_dbt

VIEWS = ("value", "behavioral", "channel")
USER_DATA_VARS = {"segments_unit_tests": False}
"""As on any user's data: dbt casts the package's unit-test fixtures to the input's types
(a UUID key or an integer price cannot take them), so they run on the demo data only."""
BUILD_SECONDS: list[float] = []
"""Wall time of every conformance build, reported at the end of the session."""
TYPES_BUILT: list[Types] = []
"""The column types of every shop built, so the summary shows the matrix that was covered."""


def build_shop(shop: Shop, args: tuple[str, ...] = ("build",)) -> tuple[Path, DbtResult]:
    """Write the shop into a new DuckDB file and run dbt on it with the shop's vars."""
    folder = Path(tempfile.mkdtemp(prefix="segments-conformance-"))
    path = folder / "shop.duckdb"
    write_duckdb(shop, path)
    TYPES_BUILT.append(shop.types)
    started = time.perf_counter()
    result = run_dbt([*args, "--vars", json.dumps(shop_vars(shop))], path)
    BUILD_SECONDS.append(time.perf_counter() - started)
    return path, result


def shop_vars(shop: Shop) -> dict[str, Any]:
    """The vars a user of this shop sets: its own (as_of_date, pivot widths) and its key's type for the contract."""
    return {**USER_DATA_VARS, "segments_customer_id_type": shop.types.customer_id.lower(), **shop.vars}


def _key_type(path: Path, relation: str) -> set[str]:
    return {row[0] for row in query_duckdb(path, f"select distinct typeof(customer_id) from {relation}")}


Query = Callable[[str], list[tuple[Any, ...]]]


def check_build(shop: Shop, path: Path, result: DbtResult) -> Expected:
    """Every assertion the conformance suite makes about one shop built end to end on DuckDB."""
    assert result.ok, failure_summary(result.output)
    want = expected(shop)
    in_scope = set(want.rfm)

    def query(sql: str) -> list[tuple[Any, ...]]:
        return query_duckdb(path, sql)

    check_features(shop, want, query, key_of=lambda value: value)
    segments = {row[0] for row in query("select customer_id from main.customer_segments")}
    assert segments == in_scope
    for relation in ("main.customer_features", "main.customer_segments", "main.segment_assignments"):
        assert _key_type(path, relation) <= {shop.types.customer_id}, relation
    for view in VIEWS:
        assigned = query(f"select customer_id from main.segment_assignments where view = '{view}'")
        if assigned:  # a view may be skipped on tiny inputs; when it runs it segments everyone in scope
            assert sorted(map(repr, (r[0] for r in assigned))) == sorted(map(repr, in_scope)), view
    check_channel_pivot(shop, want, path)
    check_sync_keys(path, in_scope)
    return want


def check_channel_pivot(shop: Shop, want: Expected, path: Path) -> None:
    """Odd channel text gives valid, distinct columns; past the pivot width the rest pools into other."""
    columns = [r[0] for r in query_duckdb(path, "select column_name from (describe main.customer_features)")]
    shares = [c for c in columns if c.startswith("chan_share__")]
    assert len(shares) == len(set(shares))
    assert all(re.fullmatch(r"[a-z0-9_]{1,63}", c) for c in shares), shares
    if not shop.types.channel:
        return
    width = int(shop.vars.get("segments_max_channels", 8))
    channels = {c for c in want.counting_channels.values() for c in c if c is not None}
    assert len(shares) == min(len(channels), width) + (1 if len(channels) > width else 0), (shares, channels)
    if not shares:
        return
    totals = dict(query_duckdb(path, f"select customer_id, {' + '.join(shares)} from main.customer_features"))
    for customer, seen in want.counting_channels.items():
        if None not in seen:  # every order on a known channel: the shares (other included) add up to 1
            assert abs(totals[customer] - 1) < 1e-9, (customer, totals[customer])


def check_features(
    shop: Shop, want: Expected, query: Query, key_of: Callable[[Any], Any], schema: str = "main"
) -> None:
    """Keys, RFM and the accounting of every line, on any warehouse (``key_of`` maps a source id as it reads back)."""
    in_scope = {key_of(c) for c in want.rfm}
    features = {row[0] for row in query(f"select customer_id from {schema}.customer_features")}
    assert features == in_scope

    rows = query(f"select customer_id, recency_days, frequency, monetary_total, tenure_days from {schema}.customer_rfm")
    assert len(rows) == len(in_scope)
    hand_rfm = {key_of(c): rfm for c, rfm in want.rfm.items()}
    for customer, recency, frequency, monetary, tenure in rows:
        hand = hand_rfm[customer]
        assert (recency, frequency, tenure) == (hand.recency_days, hand.frequency, hand.tenure_days), customer
        assert abs(Decimal(str(monetary)) - hand.monetary_total) <= Decimal("0.000001"), (customer, monetary, hand)

    quality = query(
        f"select reason, detail, action, row_count from {schema}.data_quality where table_name = 'order_lines'"
    )
    accounted = Counter(
        {(r, d): n for r, d, action, n in quality if action in ("excluded", "filtered", "counted") and n > 0}
    )
    assert accounted == +want.line_reasons
    listed = Counter({d: n for r, d, _, n in quality if r == "unrecognised_status"})
    assert listed == want.listed_statuses
    assert dict((r, n) for r, _, _, n in quality if r == "exact_duplicate_row") == {
        "exact_duplicate_row": want.exact_duplicates
    }
    if shop.products is not None:
        conflicts = query(
            f"select row_count from {schema}.data_quality where table_name = 'products' "
            "and reason = 'conflicting_product_category'"
        )
        assert conflicts == [(want.conflicting_product_rows,)]


def check_sync_keys(path: Path, in_scope: set[Any]) -> None:
    """The keys the Salesforce sync would upsert are the warehouse ids, as text, unchanged."""
    from sync.config import load_config
    from sync.records import contact_candidates
    from sync.warehouse import DuckDBWarehouse

    config = load_config(REPO_ROOT / "sync.example.yml")
    destination = config.destination("salesforce")
    warehouse = DuckDBWarehouse(path, read_only=True)
    try:
        keys = [c.key for chunk in contact_candidates(warehouse, config.warehouse, destination, None) for c in chunk]
    finally:
        warehouse.close()
    assert sorted(k for k in keys if k is not None) == sorted(str(c) for c in in_scope)
