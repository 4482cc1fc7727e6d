"""The feature stage on demo data: RFM to the cent, data quality, point in time, contracts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from tests.conftest import DemoWarehouse
from tests.dbt_harness import DbtResult, query_duckdb, run_dbt
from tests.integration.hand_rfm import assert_rfm_matches_hand

FEATURES = " ".join(
    [
        "path:models/staging",
        "path:models/intermediate",
        "path:models/features",
        "path:models/quality",
        "seeds/segments__rfm_segment_grid.csv",
    ]
)


def build_features(path: Path, *args: str) -> DbtResult:
    """``dbt build`` of the feature stage on ``path``, with the tests of those models only."""
    return run_dbt(["build", "--indirect-selection", "cautious", "--select", FEATURES, *args], path)


def test_rfm_matches_hand_computation_for_every_customer(demo_warehouse: DemoWarehouse) -> None:
    assert assert_rfm_matches_hand(demo_warehouse.path) > 1000


def test_every_customer_gets_exactly_one_rfm_cell(demo_warehouse: DemoWarehouse) -> None:
    rows = query_duckdb(
        demo_warehouse.path,
        "select count(*), count(rfm_segment), count(distinct rfm_segment), min(r_score), max(r_score) "
        "from main.customer_rfm",
    )
    total, named, distinct_names, low, high = rows[0]
    assert total == named
    assert distinct_names >= 6, "the demo's spread of customers should reach most cells of the grid"
    assert (low, high) == (1, 5)


def test_data_quality_counts_every_planted_defect(demo_warehouse: DemoWarehouse) -> None:
    expected = dict(query_duckdb(demo_warehouse.path, "select reason, rows from raw.demo_dirty_rows_expected"))
    rows = query_duckdb(
        demo_warehouse.path,
        "select reason, detail, action, row_count from main.data_quality where table_name = 'order_lines'",
    )
    per_reason: dict[str, int] = {}
    for reason, _, _, count in rows:
        per_reason[reason] = per_reason.get(reason, 0) + count
    for reason, planted in expected.items():
        assert per_reason[reason] == planted, reason
    # the planted odd statuses count: they are listed, never excluded
    assert {action for reason, _, action, _ in rows if reason == "unrecognised_status"} == {"listed"}
    # the duplicated lines are exact copies: both rules see them
    assert per_reason["exact_duplicate_row"] == expected["duplicate_line_key"]
    lines = query_duckdb(demo_warehouse.path, "select count(*) from raw.order_lines")[0][0]
    accounted = sum(count for _, _, action, count in rows if action in ("excluded", "filtered", "counted"))
    assert accounted == lines, "no line may disappear between the source and data_quality"
    excluded = sum(count for _, _, action, count in rows if action == "excluded")
    assert excluded == sum(planted for reason, planted in expected.items() if reason != "unrecognised_status")


def test_shares_sum_to_one_and_rates_stay_in_range(demo_warehouse: DemoWarehouse) -> None:
    con = duckdb.connect(str(demo_warehouse.path), read_only=True)
    try:
        columns = [r[0] for r in con.execute("describe main.customer_features").fetchall()]
        categories = [c for c in columns if c.startswith("cat_share__")]
        channels = [c for c in columns if c.startswith("chan_share__")]
        assert len(categories) >= 5 and len(channels) >= 3
        worst_category = con.execute(
            f"select max(abs({' + '.join(categories)} - 1)) from main.customer_features where monetary_total > 0"
        ).fetchall()[0][0]
        worst_channel = con.execute(
            f"select max(abs({' + '.join(channels)} - 1)) from main.customer_features"
        ).fetchall()[0][0]
        bad_rates = con.execute(
            "select count(*) from main.customer_features where email_open_rate not between 0 and 1 "
            "or email_click_rate > email_open_rate + 1e-9"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert worst_category < 1e-9
    assert worst_channel < 1e-9
    assert bad_rates == 0


def test_past_as_of_date_reproduces_what_was_known_then(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    past = tmp_path / "past.duckdb"
    past.write_bytes(demo_warehouse.path.read_bytes())
    as_of = dt.date(2026, 4, 1)
    result = build_features(past, "--vars", f"{{as_of_date: '{as_of}'}}")
    assert result.ok, result.output
    in_scope = assert_rfm_matches_hand(past, as_of)
    later_only = query_duckdb(
        past,
        f"select count(distinct customer_id) from main.int_segments__order_lines_checked where dq_reason is null "
        f"and customer_id not in (select customer_id from main.int_segments__order_lines_checked "
        f"where dq_reason is null and ordered_at < date '{as_of}')",
    )[0][0]
    assert later_only > 0, "the demo should hold customers whose first order is after the date"
    assert query_duckdb(past, "select max(last_order_at) from main.customer_rfm")[0][0] < dt.datetime(2026, 4, 1)
    assert in_scope < query_duckdb(demo_warehouse.path, "select count(*) from main.customer_rfm")[0][0]


@pytest.fixture(scope="module")
def minimal_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from segmentation.demo import generate_demo_data

    path = tmp_path_factory.mktemp("minimal") / "minimal.duckdb"
    generate_demo_data(path, customers=800, seed=3, minimal=True)
    return path


def test_minimal_input_contract_builds_and_computes_rfm(minimal_warehouse: Path) -> None:
    columns = [r[0] for r in query_duckdb(minimal_warehouse, "describe raw.order_lines")]
    assert sorted(columns) == sorted(["order_id", "customer_id", "ordered_at", "quantity", "unit_price"])
    result = build_features(minimal_warehouse)
    assert result.ok, result.output
    assert "optional source table" in result.output and "products" in result.output
    assert_rfm_matches_hand(minimal_warehouse)
    feature_columns = {r[0] for r in query_duckdb(minimal_warehouse, "describe main.customer_features")}
    assert not any(c.startswith(("cat_share__", "chan_share__", "events_per_month__")) for c in feature_columns)


def test_missing_required_column_names_table_and_column(minimal_warehouse: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(minimal_warehouse.read_bytes())
    con = duckdb.connect(str(broken))
    con.execute("alter table raw.order_lines drop column unit_price")
    con.close()
    result = build_features(broken)
    assert not result.ok
    assert "missing required column(s) unit_price" in result.output
    assert "order_lines" in result.output


def test_missing_required_table_names_it_and_the_vars(minimal_warehouse: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(minimal_warehouse.read_bytes())
    result = build_features(copy, "--vars", "{segments_order_lines_identifier: no_such_lines}")
    assert not result.ok
    assert "no_such_lines" in result.output and "was not found" in result.output
    assert "segments_order_lines_identifier" in result.output
