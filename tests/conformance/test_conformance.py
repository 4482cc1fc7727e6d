"""Conformance: raw tables of every accepted type and shape through one `dbt build` each.

Hypothesis draws small shops across key types (BIGINT, INTEGER, zero-padded and free
text, UUID), timestamp types (DATE, TIMESTAMP, TIMESTAMPTZ, TIMESTAMP_NS, ISO text
with and without offsets), number types (INTEGER, BIGINT, DOUBLE, DECIMAL, fractional
quantities), optional columns present or not, status vocabularies, odd category and
channel text, planted defects and identical lines. Each is built with dbt on DuckDB
and checked against tests.conformance.shops.expected, which applies the input
contract line by line in plain Python. A dbt build costs seconds, so the examples are
few and fixed by a seed (derandomize) and the edge shapes are spelled out by hand.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.conformance.checks import build_shop, check_build
from tests.conformance.shops import TYPE_MATRIX, Line, Shop, Types, varied_shops
from tests.dbt_harness import query_duckdb

pytestmark = pytest.mark.dbt

BUILD = settings(
    max_examples=1,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: each step is a dbt build
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
)


@pytest.mark.parametrize("types", TYPE_MATRIX, ids=lambda t: f"{t.customer_id}-{t.ordered_at}-{t.unit_price}")
def test_conforming_shops_build_and_keep_every_key_and_line(types: Types) -> None:
    """One drawn shop per row of the type matrix: each accepted type of each column is built once."""

    @BUILD
    @given(varied_shops(types))
    def build_and_check(shop: Shop) -> None:
        path, result = build_shop(shop)
        check_build(shop, path, result)

    build_and_check()


@BUILD
@given(varied_shops())
def test_a_shop_of_any_type_combination_builds(shop: Shop) -> None:
    path, result = build_shop(shop)
    check_build(shop, path, result)


def _line(order: object, customer: object, when: dt.datetime, price: str = "10.00", **kw: object) -> Line:
    values: dict[str, object] = {
        "order_id": order,
        "line_number": 1,
        "customer_id": customer,
        "ordered_at": when,
        "instant": when,
        "product_id": 1,
        "quantity": 1,
        "unit_price": Decimal(price),
        "discount": None,
        "channel": "web",
        "status": "completed",
    }
    values.update(kw)
    return Line(**values)  # type: ignore[arg-type]


DAY = dt.datetime(2026, 3, 1, 12, 0)


def test_a_single_customer_builds() -> None:
    shop = Shop(
        types=Types(), lines=[_line(1, "09570", DAY)], as_of=dt.date(2026, 4, 1), vars={"as_of_date": "2026-04-01"}
    )
    path, result = build_shop(shop)
    check_build(shop, path, result)


def test_no_customer_in_scope_builds_with_empty_segments() -> None:
    lines = [_line(i, f"C{i:03d}", DAY, status=s) for i, s in enumerate(["cancelled", "Refunded", " VOIDED "], 1)]
    shop = Shop(types=Types(), lines=lines, as_of=dt.date(2026, 4, 1), vars={"as_of_date": "2026-04-01"})
    path, result = build_shop(shop)
    want = check_build(shop, path, result)
    assert want.rfm == {}
    # the report says why the segments are empty
    report = subprocess.run(
        [
            str(Path(sys.executable).with_name("segments")),
            "report",
            "--duckdb",
            str(path),
            "--out",
            str(path.parent / "r.html"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    assert "none of the 3 order lines counts before the as-of date" in report.stdout + report.stderr
    assert "3 have an excluded status" in (path.parent / "r.html").read_text()


def test_future_only_customers_empty_optional_tables_and_conflicting_products() -> None:
    """A customer whose only order is after as_of_date, optional tables present but empty, products that disagree."""
    late = uuid.UUID(int=7)
    early = uuid.UUID(int=3)
    lines = [
        _line("A-1", early, DAY, product_id=5),
        _line("A-2", early, DAY + dt.timedelta(days=3), product_id=6),
        _line("A-3", late, dt.datetime(2026, 4, 2, 9, 0), product_id=5),
    ]
    types = Types(customer_id="UUID", order_id="VARCHAR")
    shop = Shop(
        types=types,
        lines=lines,
        as_of=dt.date(2026, 4, 1),
        products=[(5, "Shoes"), (5, "shoes"), (6, "Bags"), (6, "Bags")],
        customers=[],
        events=[],
        vars={"as_of_date": "2026-04-01"},
    )
    path, result = build_shop(shop)
    want = check_build(shop, path, result)
    assert set(want.rfm) == {early}
    assert want.conflicting_product_rows == 2


def test_keys_typed_differently_in_two_inputs_join_as_text() -> None:
    """Order lines with BIGINT product ids, a products table with VARCHAR ones: 8 finds '8',
    7 never finds '007' (keys are opaque, not numbers), and 'P-1' stops nothing."""
    lines = [_line(i, f"C{i}", DAY, product_id=7 + i % 2) for i in range(6)]
    shop = Shop(
        types=Types(product_id="BIGINT"),
        lines=lines,
        as_of=dt.date(2026, 4, 1),
        products=[("007", "Shoes"), ("8", "Bags"), ("P-1", "Hats")],
        products_key_type="VARCHAR",
        vars={"as_of_date": "2026-04-01"},
    )
    path, result = build_shop(shop)
    check_build(shop, path, result)
    categories = dict(query_duckdb(path, "select customer_id, top_category from main.customer_features"))
    assert categories == {f"C{i}": ("Bags" if i % 2 else "unknown") for i in range(6)}
    assert "joined as text" in result.output


@pytest.mark.parametrize(
    ("column", "bad", "types"),
    [
        ("ordered_at", "yesterday", Types(ordered_at="VARCHAR")),
        ("unit_price", "12,50", Types(unit_price="VARCHAR")),
    ],
)
def test_text_that_is_not_its_columns_kind_stops_the_run_naming_table_column_and_value(
    column: str, bad: str, types: Types
) -> None:
    text = {"ordered_at": "2026-03-01T12:00:00", "unit_price": "12.50"}
    good = _line(1, "C1", DAY, **text)
    broken = _line(2, "C2", DAY, **{**text, column: bad})
    shop = Shop(types=types, lines=[good, broken], as_of=dt.date(2026, 4, 1), vars={"as_of_date": "2026-04-01"})
    _, result = build_shop(shop, ("run", "--select", "stg_segments__order_lines"))
    assert not result.ok
    assert "order_lines" in result.output and f"column {column}" in result.output
    assert f'"{bad}"' in result.output and "1 value(s)" in result.output
