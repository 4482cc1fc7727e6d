"""Behaviour of the demo data generator: contract, determinism, realism, dirty rows."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest

from segmentation.demo import DemoDataError, generate_demo_data
from segmentation.demo import generator as generator_module
from segmentation.demo.calendar import _black_friday

from .conftest import DemoDb

FULL_SCHEMA = {
    "order_lines": [
        ("order_id", "BIGINT"),
        ("line_number", "INTEGER"),
        ("customer_id", "VARCHAR"),
        ("ordered_at", "TIMESTAMP"),
        ("product_id", "BIGINT"),
        ("quantity", "INTEGER"),
        ("unit_price", "DECIMAL(12,2)"),
        ("discount", "DECIMAL(12,2)"),
        ("channel", "VARCHAR"),
        ("status", "VARCHAR"),
    ],
    "customers": [
        ("customer_id", "VARCHAR"),
        ("email", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("country", "VARCHAR"),
        ("acquisition_channel", "VARCHAR"),
    ],
    "products": [("product_id", "BIGINT"), ("category", "VARCHAR"), ("brand", "VARCHAR")],
    "engagement_events": [
        ("customer_id", "VARCHAR"),
        ("occurred_at", "TIMESTAMP"),
        ("event_type", "VARCHAR"),
        ("channel", "VARCHAR"),
    ],
    "demo_personas": [
        ("customer_id", "VARCHAR"),
        ("value_persona", "VARCHAR"),
        ("behavioral_persona", "VARCHAR"),
        ("channel_persona", "VARCHAR"),
    ],
    "demo_dirty_rows_expected": [("reason", "VARCHAR"), ("rows", "BIGINT")],
}

# Each planted defect, computed independently of the generator's own bookkeeping.
DIRTY_SQL = {
    "null_customer_id": "select count(*) from raw.order_lines where customer_id is null",
    "non_positive_quantity": "select count(*) from raw.order_lines where quantity <= 0",
    "null_ordered_at": "select count(*) from raw.order_lines where ordered_at is null",
    "duplicate_line_key": """
        select coalesce(sum(n - 1), 0) from (
            select order_id, line_number, count(*) as n from raw.order_lines
            group by all having count(*) > 1)""",
    "unrecognised_status": """
        select count(*) from raw.order_lines
        where status is not null and lower(status) not in ('completed', 'cancelled', 'returned')""",
}


def _columns(db: DemoDb, table: str) -> list[tuple[str, str]]:
    rows = db.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = ? order by ordinal_position",
        [table],
    )
    return [(str(name), str(kind)) for name, kind in rows]


def _content_hash(path: Path, tables: list[str]) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            t: hashlib.sha256(repr(con.execute(f"select * from raw.{t} order by all").fetchall()).encode()).hexdigest()
            for t in tables
        }
    finally:
        con.close()


# --- contract ---------------------------------------------------------------


def test_tables_and_column_types_match_the_input_contract(demo_db: DemoDb) -> None:
    tables = {
        r[0] for r in demo_db.query("select table_name from information_schema.tables where table_schema = 'raw'")
    }
    assert tables == set(FULL_SCHEMA)
    for table, columns in FULL_SCHEMA.items():
        assert _columns(demo_db, table) == columns, table


def test_reported_counts_equal_table_row_counts(demo_db: DemoDb) -> None:
    assert set(demo_db.counts) == set(FULL_SCHEMA)
    for table, rows in demo_db.counts.items():
        assert demo_db.scalar(f"select count(*) from raw.{table}") == rows, table
    assert demo_db.counts["customers"] == demo_db.customers
    assert demo_db.counts["demo_personas"] == demo_db.customers


def test_minimal_mode_writes_only_the_five_required_columns(minimal_db: DemoDb) -> None:
    tables = minimal_db.query("select table_name from information_schema.tables where table_schema = 'raw'")
    assert tables == [("order_lines",)]
    assert _columns(minimal_db, "order_lines") == [
        ("order_id", "BIGINT"),
        ("customer_id", "VARCHAR"),
        ("ordered_at", "TIMESTAMP"),
        ("quantity", "INTEGER"),
        ("unit_price", "DECIMAL(12,2)"),
    ]
    assert minimal_db.counts == {"order_lines": minimal_db.scalar("select count(*) from raw.order_lines")}


def test_minimal_rows_are_distinct_except_the_planted_duplicates(minimal_db: DemoDb) -> None:
    """Without line_number the only key is the whole row, so clean lines must differ."""
    extra_copies = minimal_db.scalar(
        "select coalesce(sum(n - 1), 0) from (select order_id, customer_id, ordered_at, "
        "quantity, unit_price, count(*) as n from raw.order_lines group by all)"
    )
    lines = minimal_db.scalar("select count(*) from raw.order_lines")
    assert 0 < extra_copies < 0.005 * lines


def test_values_respect_the_documented_domains(demo_db: DemoDb) -> None:
    channels = {r[0] for r in demo_db.query("select distinct channel from raw.order_lines")}
    assert channels == {"web", "app", "store", "phone", "marketplace"}
    categories = demo_db.scalar("select count(distinct category) from raw.products")
    assert 8 <= categories <= 10
    events = {(r[0], r[1]) for r in demo_db.query("select distinct event_type, channel from raw.engagement_events")}
    assert events == {
        ("email_sent", "email"),
        ("email_open", "email"),
        ("email_click", "email"),
        ("web_visit", "web"),
        ("app_session", "app"),
        ("support_ticket", "support"),
    }
    bad = demo_db.query(
        """select
            count(*) filter (where discount < 0),
            count(*) filter (where quantity > 0 and discount > quantity * unit_price),
            count(*) filter (where unit_price <= 0),
            count(*) filter (where line_number not between 1 and 5)
        from raw.order_lines"""
    )[0]
    assert bad == (0, 0, 0, 0)
    unknown_product = demo_db.scalar(
        "select count(*) from raw.order_lines l anti join raw.products p using (product_id)"
    )
    assert unknown_product == 0


def test_emails_are_unique_and_derived_from_the_customer_id(demo_db: DemoDb) -> None:
    total, distinct, matching = demo_db.query(
        "select count(*), count(distinct email), "
        "count(*) filter (where email = lower(customer_id) || '@example.com') from raw.customers"
    )[0]
    assert total == distinct == matching == demo_db.customers


def test_customer_ids_are_zero_padded_text_by_default(demo_db: DemoDb) -> None:
    shapes = demo_db.query(
        "select count(*), count(*) filter (where regexp_full_match(customer_id, 'C[0-9]{6}')), "
        "min(customer_id), max(customer_id) from raw.customers"
    )[0]
    assert shapes == (demo_db.customers, demo_db.customers, "C000001", f"C{demo_db.customers:06d}")


def test_integer_id_style_writes_bigint_ids(tmp_path: Path) -> None:
    path = tmp_path / "integer.duckdb"
    generate_demo_data(path, customers=50, seed=3, id_style="integer")
    con = duckdb.connect(str(path), read_only=True)
    try:
        types = con.execute(
            "select distinct data_type from information_schema.columns "
            "where table_schema = 'raw' and column_name = 'customer_id'"
        ).fetchall()
        ids = con.execute("select min(customer_id), max(customer_id) from raw.customers").fetchall()
        emails = con.execute("select count(*) from raw.customers where email = 'c' || customer_id || '@example.com'")
        matching = emails.fetchall()[0][0]
    finally:
        con.close()
    assert types == [("BIGINT",)]
    assert ids == [(1, 50)]
    assert matching == 50


def test_an_unknown_id_style_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DemoDataError, match="id_style"):
        generate_demo_data(tmp_path / "x.duckdb", customers=5, seed=1, id_style="uuid")


def test_order_ids_are_unique_per_order_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several chunks must not reuse order ids and must keep each order on one customer."""
    monkeypatch.setattr(generator_module, "CHUNK_CUSTOMERS", 300)
    path = tmp_path / "chunks.duckdb"
    generate_demo_data(path, customers=1000, seed=5)
    con = duckdb.connect(str(path), read_only=True)
    try:
        customers_per_order = con.execute(
            "select max(n) from (select order_id, count(distinct customer_id) n "
            "from raw.order_lines where customer_id is not null group by 1)"
        ).fetchall()[0][0]
        chunk_spread = con.execute(
            "select count(distinct cast(customer_id[2:] as bigint) // 300) from raw.order_lines"
        ).fetchall()[0][0]
        ids = con.execute("select count(*), count(distinct customer_id) from raw.customers").fetchall()
    finally:
        con.close()
    assert customers_per_order == 1
    assert chunk_spread == 4
    assert ids == [(1000, 1000)]


# --- determinism -----------------------------------------------------------


def test_same_seed_gives_identical_tables(demo_db: DemoDb, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    counts = generate_demo_data(again, customers=demo_db.customers, seed=demo_db.seed)
    assert counts == demo_db.counts
    tables = list(FULL_SCHEMA)
    assert _content_hash(again, tables) == _content_hash(demo_db.path, tables)


def test_different_seeds_give_different_tables(demo_db: DemoDb, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    generate_demo_data(other, customers=demo_db.customers, seed=demo_db.seed + 1)
    ours = _content_hash(demo_db.path, ["order_lines", "engagement_events", "demo_personas"])
    theirs = _content_hash(other, ["order_lines", "engagement_events", "demo_personas"])
    for table, digest in ours.items():
        assert theirs[table] != digest, table


# --- dirty rows -------------------------------------------------------------


def test_dirty_rows_match_the_truth_table(demo_db: DemoDb) -> None:
    expected = dict(demo_db.query("select reason, rows from raw.demo_dirty_rows_expected"))
    assert set(expected) == set(DIRTY_SQL)
    for reason, sql in DIRTY_SQL.items():
        assert demo_db.scalar(sql) == expected[reason], reason
        assert expected[reason] > 0, f"no {reason} rows planted"
    share = sum(expected.values()) / demo_db.counts["order_lines"]
    assert 0.003 < share < 0.008


def test_each_dirty_row_has_exactly_one_defect(demo_db: DemoDb) -> None:
    multiple = demo_db.scalar(
        """select count(*) from raw.order_lines where
            (customer_id is null)::int + (quantity <= 0)::int + (ordered_at is null)::int
            + (status is not null and lower(status) not in ('completed','cancelled','returned'))::int
            > 1"""
    )
    assert multiple == 0
    # a duplicated line is an exact copy of a clean line
    dirty_duplicates = demo_db.scalar(
        """select count(*) from raw.order_lines l
           join (select order_id, line_number from raw.order_lines
                 group by all having count(*) > 1) d using (order_id, line_number)
           where customer_id is null or quantity <= 0 or ordered_at is null
              or (status is not null
                  and lower(status) not in ('completed','cancelled','returned'))"""
    )
    assert dirty_duplicates == 0
    non_exact = demo_db.scalar(
        "select count(*) from (select order_id, line_number from raw.order_lines "
        "group by all having count(distinct (customer_id, ordered_at, product_id, quantity, "
        "unit_price, discount, channel, status)) > 1)"
    )
    assert non_exact == 0


# --- realism ----------------------------------------------------------------


def test_volume_is_about_sixteen_lines_and_ten_events_per_customer(demo_db: DemoDb) -> None:
    lines = demo_db.counts["order_lines"] / demo_db.customers
    events = demo_db.counts["engagement_events"] / demo_db.customers
    assert 13 <= lines <= 19
    assert 7 <= events <= 14


def test_order_counts_are_skewed(demo_db: DemoDb) -> None:
    mean, median, p90, top = demo_db.query(
        """select avg(n), median(n), quantile_disc(n, 0.9), max(n) from (
            select customer_id, count(distinct order_id) as n from raw.order_lines
            where customer_id is not null group by 1)"""
    )[0]
    assert median < mean
    assert p90 > 2 * median
    assert top >= 3 * mean


def test_orders_have_one_to_five_lines_and_skewed_values(demo_db: DemoDb) -> None:
    sizes = dict(
        demo_db.query(
            "select n, count(*) from (select order_id, max(line_number) as n "
            "from raw.order_lines group by 1) group by 1"
        )
    )
    assert set(sizes) == {1, 2, 3, 4, 5}
    assert sizes[1] > sizes[5] and sizes[2] > sizes[5]
    mean, median = demo_db.query(
        "select avg(v), median(v) from (select order_id, sum(quantity * unit_price) v "
        "from raw.order_lines where quantity > 0 group by 1)"
    )[0]
    assert median < mean, "order values should be right-skewed (log-normal-like)"


def test_statuses_channels_and_discounts_have_realistic_shares(demo_db: DemoDb) -> None:
    cancelled, returned, null, odd_case, discounted = demo_db.query(
        """select
            avg((lower(status) = 'cancelled')::int),
            avg((lower(status) = 'returned')::int),
            avg((status is null)::int),
            count(*) filter (where status <> lower(status)),
            avg((discount > 0)::int)
        from raw.order_lines"""
    )[0]
    assert 0.025 < cancelled < 0.06
    assert 0.02 < returned < 0.045
    assert 0.003 < null < 0.03
    assert odd_case > 0
    assert 0.1 < discounted < 0.4
    channel_shares = [
        r[1] for r in demo_db.query("select channel, count(*) / sum(count(*)) over () from raw.order_lines group by 1")
    ]
    assert max(channel_shares) < 0.5, "orders should be spread over several channels"


def test_yearly_and_weekly_seasonality(demo_db: DemoDb) -> None:
    per_month = dict(
        demo_db.query("select month(ordered_at), count(*) from raw.order_lines where ordered_at is not null group by 1")
    )
    assert len(per_month) == 12
    average = sum(per_month.values()) / 12
    assert per_month[11] > 1.15 * average
    assert per_month[12] > 1.15 * average
    assert min(per_month[1], per_month[2]) < average
    weekday = dict(
        demo_db.query(
            "select isodow(ordered_at), count(*) from raw.order_lines where ordered_at is not null group by 1"
        )
    )
    assert weekday[6] > weekday[2] and weekday[7] > weekday[3]


def test_history_spans_three_years_ending_on_the_end_date(demo_db: DemoDb) -> None:
    first, last = demo_db.query("select min(ordered_at)::date, max(ordered_at)::date from raw.order_lines")[0]
    assert last == date(2026, 10, 31)
    assert date(2023, 10, 31) <= first <= date(2024, 1, 31)
    later_events = demo_db.scalar("select count(*) from raw.engagement_events where occurred_at >= date '2026-11-01'")
    assert later_events == 0


def test_end_date_can_be_chosen(early_db: DemoDb) -> None:
    last = early_db.scalar("select max(ordered_at)::date from raw.order_lines")
    events_after = early_db.scalar("select count(*) from raw.engagement_events where occurred_at >= date '2024-03-16'")
    assert last == date(2024, 3, 15)
    assert events_after == 0


def test_customers_sign_up_before_their_first_order(demo_db: DemoDb) -> None:
    late = demo_db.scalar(
        """select count(*) from raw.customers c join (
            select customer_id, min(ordered_at) first_order from raw.order_lines
            where ordered_at is not null group by 1) o using (customer_id)
        where c.created_at > o.first_order"""
    )
    assert late == 0


def test_email_funnel_holds_for_every_customer(demo_db: DemoDb) -> None:
    violations, with_clicks = demo_db.query(
        """select
            count(*) filter (where sent < opens or opens < clicks),
            count(*) filter (where clicks > 0)
        from (select customer_id,
                count(*) filter (where event_type = 'email_sent') sent,
                count(*) filter (where event_type = 'email_open') opens,
                count(*) filter (where event_type = 'email_click') clicks
              from raw.engagement_events group by 1)"""
    )[0]
    assert violations == 0
    assert with_clicks > 0


def test_black_friday_dates() -> None:
    assert _black_friday(2024) == date(2024, 11, 29)
    assert _black_friday(2025) == date(2025, 11, 28)
    assert _black_friday(2026) == date(2026, 11, 27)


# --- writing ----------------------------------------------------------------


def test_rerun_replaces_tables_and_minimal_drops_the_optional_ones(tmp_path: Path) -> None:
    path = tmp_path / "rerun.duckdb"
    generate_demo_data(path, customers=300, seed=1)
    counts = generate_demo_data(path, customers=200, seed=1)
    con = duckdb.connect(str(path))
    try:
        assert con.execute("select count(*) from raw.customers").fetchall() == [(200,)]
        assert con.execute("select count(*) from raw.order_lines").fetchall()[0][0] == counts["order_lines"]
    finally:
        con.close()
    generate_demo_data(path, customers=200, seed=1, minimal=True)
    con = duckdb.connect(str(path))
    try:
        tables = con.execute("select table_name from information_schema.tables where table_schema = 'raw'").fetchall()
    finally:
        con.close()
    assert tables == [("order_lines",)]


def test_custom_schema_and_nested_path_are_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "demo.duckdb"
    generate_demo_data(path, customers=50, seed=2, schema="landing")
    con = duckdb.connect(str(path))
    try:
        schemas = {r[0] for r in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
    finally:
        con.close()
    assert schemas == {"landing"}


def test_a_failed_run_leaves_the_previous_tables_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "atomic.duckdb"
    before = generate_demo_data(path, customers=400, seed=3)
    original = generator_module._generate_chunk

    def failing_chunk(seed: int, chunk_index: int, *args: object) -> object:
        if chunk_index == 1:
            raise RuntimeError("disk on fire")
        return original(seed, chunk_index, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(generator_module, "CHUNK_CUSTOMERS", 100)
    monkeypatch.setattr(generator_module, "_generate_chunk", failing_chunk)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate_demo_data(path, customers=300, seed=4)
    con = duckdb.connect(str(path))
    try:
        after = {t: con.execute(f"select count(*) from raw.{t}").fetchall()[0][0] for t in before}
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    finally:
        con.close()
    assert after == before
    assert tables == set(before), "staging tables of the failed run must be cleaned up"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 0}, "customers must be between 1"),
        ({"customers": -5}, "customers must be between 1"),
        ({"customers": 10**9}, "customers must be between 1"),
        ({"customers": 10, "seed": -1}, "seed must be a non-negative integer"),
        ({"customers": 10, "schema": "raw; drop table x"}, "not a plain SQL identifier"),
    ],
)
def test_bad_arguments_raise_a_clear_error(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"seed": 1, **kwargs}
    with pytest.raises(DemoDataError, match=message):
        generate_demo_data(tmp_path / "x.duckdb", **args)  # type: ignore[arg-type]
    assert not (tmp_path / "x.duckdb").exists(), "nothing is written for bad arguments"


def test_a_directory_as_target_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DemoDataError, match="is a directory"):
        generate_demo_data(tmp_path, customers=10, seed=1)
