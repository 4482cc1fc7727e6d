"""Small raw shops of every accepted type and shape, and what the models must make of them.

A :class:`Shop` is plain Python values plus the SQL type of each source column. It is
written to DuckDB or PostgreSQL exactly as typed, and :func:`expected` computes from
the same Python values, line by line and without SQL, what the input contract says
the warehouse must produce: which customers are in scope, their RFM, and why each
line counts or not. Nothing here imports the project's code.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

UTC = dt.UTC
# The documented defaults (dbt_project.yml): excluded statuses never count, the rest does.
EXCLUDED_STATUSES = {"cancelled", "canceled", "returned", "refunded", "voided", "failed"}
KNOWN_STATUSES = {"completed", "complete", "placed", "paid", "processing", "shipped", "delivered", "fulfilled"}
STATUS_VOCABULARY = [
    "completed",
    "Completed",
    " shipped ",
    "placed",
    "CANCELED",
    "cancelled",
    "refunded",
    "return_pending",
    "Returned",
    "voided",
    "FAILED",
    "on hold",
    "",
    None,
]
# Text a warehouse really holds in category, channel and event-type columns.
ODD_VALUES = [
    "Web",
    "web",
    "O'Reilly",
    'say "hi"',
    "select",
    "from",
    "家具",
    "Café & Bar",
    "café-bar",
    "x" * 90,
    "x" * 89 + "y",
    "Mobile App",
    "mobile app",
    "other",
    "back\\slash",
    "007",
    "true",
    "NA",
    "null",
    "  padded  ",
    "",
    None,
]

ID_TYPES = ("BIGINT", "INTEGER", "VARCHAR", "UUID")
TIMESTAMP_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP_NS", "VARCHAR")
QUANTITY_TYPES = ("INTEGER", "BIGINT", "DOUBLE", "DECIMAL(10,3)")
PRICE_TYPES = ("DECIMAL(12,2)", "DOUBLE", "INTEGER", "BIGINT", "DECIMAL(38,6)")

POSTGRES_TYPES = {
    "VARCHAR": "text",
    "DOUBLE": "double precision",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMPTZ": "timestamptz",
}


@dataclass(frozen=True)
class Types:
    """The SQL type of every column of the shop's order lines, and which optional columns exist."""

    customer_id: str = "VARCHAR"
    order_id: str = "BIGINT"
    product_id: str = "BIGINT"
    ordered_at: str = "TIMESTAMP"
    quantity: str = "INTEGER"
    unit_price: str = "DECIMAL(12,2)"
    discount: str | None = "DECIMAL(12,2)"
    line_number: bool = True
    status: bool = True
    channel: bool = True


@dataclass(frozen=True)
class Line:
    order_id: Any
    line_number: int
    customer_id: Any
    ordered_at: Any  # what is written: date, naive or aware datetime, or ISO text
    instant: dt.datetime | None  # the UTC wall-clock time the contract reads from it
    product_id: Any
    quantity: Any
    unit_price: Any
    discount: Any
    channel: str | None
    status: str | None


@dataclass(frozen=True)
class Shop:
    types: Types
    lines: list[Line]
    as_of: dt.date
    products: list[tuple[Any, str | None]] | None = None
    customers: list[tuple[Any, str]] | None = None
    events: list[tuple[Any, dt.datetime, str | None]] | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    products_key_type: str | None = None  # the products table's product_id type, when not the lines'

    @property
    def raw_line_columns(self) -> list[tuple[str, str]]:
        t = self.types
        columns = [("order_id", t.order_id)]
        if t.line_number:
            columns.append(("line_number", "INTEGER"))
        columns += [("customer_id", t.customer_id), ("ordered_at", t.ordered_at), ("product_id", t.product_id)]
        columns += [("quantity", t.quantity), ("unit_price", t.unit_price)]
        if t.discount:
            columns.append(("discount", t.discount))
        if t.channel:
            columns.append(("channel", "VARCHAR"))
        if t.status:
            columns.append(("status", "VARCHAR"))
        return columns

    def line_values(self, line: Line) -> list[Any]:
        return [getattr(line, name) for name, _ in self.raw_line_columns]


# ----------------------------------------------------------------------------- what must come out


@dataclass(frozen=True)
class CustomerRfm:
    recency_days: int
    frequency: int
    monetary_total: Decimal
    tenure_days: int


@dataclass(frozen=True)
class Expected:
    rfm: dict[Any, CustomerRfm]
    line_reasons: Counter[tuple[str, str | None]]  # (reason, detail) of every line: excluded, filtered or counted
    listed_statuses: Counter[str]
    exact_duplicates: int
    conflicting_product_rows: int
    counting_channels: dict[Any, set[str | None]]  # per customer in scope, the channels of their counting lines


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _status(line: Line) -> str | None:
    if line.status is None:
        return None
    return line.status.strip().lower() or None


def _conformed(shop: Shop, line: Line) -> tuple[Any, ...]:
    """The line as staging hands it on (for exact-duplicate detection)."""
    channel = None if line.channel is None else (line.channel.strip() or None)
    values = {
        "order_id": line.order_id,
        "line_number": line.line_number if shop.types.line_number else None,
        "customer_id": line.customer_id,
        "ordered_at": line.instant,
        "product_id": line.product_id,
        "quantity": None if line.quantity is None else _money(line.quantity),
        "unit_price": None if line.unit_price is None else _money(line.unit_price),
        "discount": None if line.discount is None or not shop.types.discount else _money(line.discount),
        "channel": channel if shop.types.channel else None,
        "status": _status(line) if shop.types.status else None,
    }
    return tuple(values.values())


def expected(shop: Shop) -> Expected:
    """The contract, applied to the shop line by line (DESIGN.md's feature definitions)."""
    as_of = dt.datetime.combine(shop.as_of, dt.time())
    reasons: Counter[tuple[str, str | None]] = Counter()
    listed: Counter[str] = Counter()
    seen_keys: set[tuple[Any, Any]] = set()
    counting: list[Line] = []
    for line in shop.lines:
        status = _status(line) if shop.types.status else None
        if status is not None and status not in KNOWN_STATUSES | EXCLUDED_STATUSES:
            listed[status] += 1
        if line.customer_id is None:
            reasons[("null_customer_id", None)] += 1
        elif line.instant is None:
            reasons[("null_ordered_at", None)] += 1
        elif line.quantity is None or line.quantity <= 0:
            reasons[("non_positive_quantity", None)] += 1
        elif line.unit_price is None:
            reasons[("null_unit_price", None)] += 1
        elif shop.types.line_number and (line.order_id, line.line_number) in seen_keys:
            reasons[("duplicate_line_key", None)] += 1
        elif status in EXCLUDED_STATUSES:
            reasons[("excluded_status", status)] += 1
        elif line.instant >= as_of:
            reasons[("on_or_after_as_of_date", None)] += 1
        else:
            reasons[("counted", None)] += 1
            counting.append(line)
        if shop.types.line_number:  # the first copy of a key is kept, whatever else it breaks
            seen_keys.add((line.order_id, line.line_number))

    orders: dict[Any, set[Any]] = {}
    first: dict[Any, dt.date] = {}
    last: dict[Any, dt.date] = {}
    money: dict[Any, Decimal] = {}
    for line in counting:
        assert line.instant is not None
        customer = line.customer_id
        day = line.instant.date()
        orders.setdefault(customer, set()).add(line.order_id)
        first[customer] = min(first.get(customer, day), day)
        last[customer] = max(last.get(customer, day), day)
        discount = line.discount if shop.types.discount and line.discount is not None else 0
        revenue = _money(line.quantity) * _money(line.unit_price) - _money(discount)
        money[customer] = money.get(customer, Decimal(0)) + revenue
    rfm = {
        c: CustomerRfm(
            recency_days=(shop.as_of - last[c]).days,
            frequency=len(orders[c]),
            monetary_total=money[c],
            tenure_days=(shop.as_of - first[c]).days,
        )
        for c in orders
    }
    copies = Counter(_conformed(shop, line) for line in shop.lines)
    conflicting = 0
    if shop.products is not None:
        categories: dict[Any, set[str]] = {}
        for product_id, category in shop.products:
            if product_id is not None and category is not None and category.strip():
                categories.setdefault(product_id, set()).add(category.strip())
        conflicted = {p for p, cats in categories.items() if len(cats) > 1}
        conflicting = sum(1 for product_id, _ in shop.products if product_id in conflicted)
    channels: dict[Any, set[str | None]] = {}
    for line in counting:
        channel = None if line.channel is None else (line.channel.strip(" ") or None)
        channels.setdefault(line.customer_id, set()).add(channel)
    return Expected(
        counting_channels=channels,
        rfm=rfm,
        line_reasons=reasons,
        listed_statuses=listed,
        exact_duplicates=sum(n - 1 for n in copies.values()),
        conflicting_product_rows=conflicting,
    )


# ----------------------------------------------------------------------------- generation


def _ids(kind: str, size: int) -> st.SearchStrategy[list[Any]]:
    if kind == "BIGINT":
        values: st.SearchStrategy[Any] = st.integers(-(2**62), 2**62)
    elif kind == "INTEGER":
        values = st.integers(-(2**31), 2**31 - 1)
    elif kind == "UUID":
        values = st.uuids()
    else:
        padded = st.integers(0, 99_999).map(lambda n: f"{n:05d}")
        prefixed = st.integers(0, 999_999).map(lambda n: f"C{n:06d}")
        free = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=24).filter(
            lambda s: s.strip() != ""
        )
        values = st.one_of(padded, prefixed, free, st.uuids().map(str))
    return st.lists(values, min_size=size, max_size=size, unique=True)


def _timestamp(kind: str, instant: dt.datetime, offset_minutes: int, text_form: int) -> tuple[Any, dt.datetime]:
    """What is written for a UTC wall-clock ``instant``, and the instant the contract reads back."""
    if kind == "DATE":
        day = instant.date()
        return day, dt.datetime.combine(day, dt.time())
    if kind == "TIMESTAMPTZ":
        zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
        return instant.replace(tzinfo=UTC).astimezone(zone), instant
    if kind == "VARCHAR":
        if text_form == 0:
            return instant.date().isoformat(), dt.datetime.combine(instant.date(), dt.time())
        if text_form == 1:
            return instant.strftime("%Y-%m-%dT%H:%M:%S"), instant.replace(microsecond=0)
        if text_form == 2:
            return instant.strftime("%Y-%m-%d %H:%M:%S.%f"), instant
        if text_form == 3:
            return instant.strftime("%Y-%m-%dT%H:%M:%SZ"), instant.replace(microsecond=0)
        zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
        local = instant.replace(tzinfo=UTC, microsecond=0).astimezone(zone)
        return local.isoformat(), instant.replace(microsecond=0)
    return instant, instant


def _number(kind: str, draw: Any, low: int, high: int) -> Any:
    if kind in ("INTEGER", "BIGINT"):
        return draw(st.integers(low, high))
    if kind == "DOUBLE":
        return draw(st.integers(low * 4, high * 4)) / 4
    scale = 3 if kind == "DECIMAL(10,3)" else 2 if kind == "DECIMAL(12,2)" else 6
    return Decimal(draw(st.integers(low * 10**scale, high * 10**scale))).scaleb(-scale)


TYPE_MATRIX: tuple[Types, ...] = (
    Types("BIGINT", "BIGINT", "BIGINT", "DATE", "INTEGER", "DECIMAL(12,2)", None, True, True, True),
    Types("INTEGER", "VARCHAR", "VARCHAR", "TIMESTAMP", "BIGINT", "DOUBLE", "DOUBLE", False, True, True),
    Types("VARCHAR", "UUID", "BIGINT", "TIMESTAMPTZ", "DOUBLE", "INTEGER", "DECIMAL(12,2)", True, False, True),
    Types("UUID", "BIGINT", "VARCHAR", "TIMESTAMP_NS", "DECIMAL(10,3)", "BIGINT", "DOUBLE", False, True, False),
    Types("VARCHAR", "VARCHAR", "BIGINT", "VARCHAR", "INTEGER", "DECIMAL(38,6)", "DECIMAL(12,2)", False, True, True),
)
"""Every accepted type of every column at least once in five builds (a covering set, not the product)."""


def column_types() -> st.SearchStrategy[Types]:
    """Any combination of the accepted types and optional columns."""
    return st.builds(
        Types,
        customer_id=st.sampled_from(ID_TYPES),
        order_id=st.sampled_from(("BIGINT", "VARCHAR", "UUID")),
        product_id=st.sampled_from(("BIGINT", "VARCHAR")),
        ordered_at=st.sampled_from(TIMESTAMP_TYPES),
        quantity=st.sampled_from(QUANTITY_TYPES),
        unit_price=st.sampled_from(PRICE_TYPES),
        discount=st.sampled_from((None, "DECIMAL(12,2)", "DOUBLE")),
        line_number=st.booleans(),
        status=st.booleans(),
        channel=st.booleans(),
    )


@st.composite
def shops(draw: Any, types: Types | None = None) -> Shop:
    """A small shop of the given column types (else drawn): 1-12 customers, up to 40 orders."""
    types = types or draw(column_types())
    n_customers = draw(st.integers(1, 12))
    customers = draw(_ids(types.customer_id, n_customers))
    n_orders = draw(st.integers(1, 40))
    order_ids = draw(_ids(types.order_id, n_orders))
    product_ids = draw(_ids(types.product_id, 6))
    start = dt.datetime(2025, 1, 1)
    as_of = (start + dt.timedelta(days=draw(st.integers(30, 400)))).date()
    lines: list[Line] = []
    for order_id in order_ids:
        customer = draw(st.sampled_from(customers))
        seconds = draw(st.integers(0, 430 * 86_400))
        instant = start + dt.timedelta(seconds=seconds, microseconds=draw(st.integers(0, 999_999)))
        written, read = _timestamp(
            types.ordered_at, instant, draw(st.integers(-12 * 60, 14 * 60)), draw(st.integers(0, 4))
        )
        channel = draw(st.sampled_from(ODD_VALUES))
        status = draw(st.sampled_from(STATUS_VOCABULARY))
        for number in range(1, draw(st.integers(1, 3)) + 1):
            quantity = _number(types.quantity, draw, 1, 4)
            price = _number(types.unit_price, draw, 1, 300)
            discount = None
            if types.discount and draw(st.booleans()):
                discount = _number("DECIMAL(12,2)" if types.discount != "DOUBLE" else "DOUBLE", draw, 0, 1)
            line = Line(
                order_id=order_id,
                line_number=number,
                customer_id=customer,
                ordered_at=written,
                instant=read,
                product_id=draw(st.sampled_from(product_ids)),
                quantity=quantity,
                unit_price=price,
                discount=discount,
                channel=channel if types.channel else None,
                status=status if types.status else None,
            )
            defect = draw(st.integers(0, 19))
            if defect == 0:
                line = replace(line, customer_id=None)
            elif defect == 1:
                line = replace(line, ordered_at=None, instant=None)
            elif defect == 2:
                line = replace(line, quantity=_number(types.quantity, draw, -1, 0))
            elif defect == 3:
                line = replace(line, unit_price=None)
            lines.append(line)
            if defect == 4:
                lines.append(line)  # the same product sold twice (or a re-sent line, with a line key)
    products = None
    if draw(st.booleans()):
        products = [(p, draw(st.sampled_from(ODD_VALUES))) for p in product_ids]
        if draw(st.booleans()):
            products.append((product_ids[0], draw(st.sampled_from(["Zzz conflicting", "other"]))))
    customer_rows = None
    if draw(st.booleans()):
        customer_rows = [(c, f"person{i}@example.com") for i, c in enumerate(customers)]
    events = None
    if draw(st.booleans()):
        events = [
            (
                draw(st.sampled_from(customers)),
                start + dt.timedelta(days=draw(st.integers(0, 400))),
                draw(st.sampled_from(["email_sent", "email_open", "email_click", *ODD_VALUES[:8], None])),
            )
            for _ in range(draw(st.integers(0, 30)))
        ]
    narrow = draw(st.booleans())
    pivot_vars = (
        {"segments_max_categories": 3, "segments_max_channels": 3, "segments_max_event_types": 3} if narrow else {}
    )
    return Shop(
        types=types,
        lines=lines,
        as_of=as_of,
        products=products,
        customers=customer_rows,
        events=events,
        vars={"as_of_date": as_of.isoformat(), **pivot_vars},
    )


def varied(shop: Shop) -> bool:
    """Not the degenerate shop Hypothesis tries first (every choice its simplest): several
    customers, order dates and statuses, so one build exercises many rules at once."""
    lines = shop.lines
    return (
        len({line.customer_id for line in lines}) >= 3
        and len({line.instant for line in lines}) >= 3
        and (not shop.types.status or len({line.status for line in lines}) >= 2)
    )


def varied_shops(types: Types | None = None) -> st.SearchStrategy[Shop]:
    return shops(types).filter(varied)


# ----------------------------------------------------------------------------- writing


def _sql_type(kind: str, postgres: bool) -> str:
    return POSTGRES_TYPES.get(kind, kind) if postgres else kind


def _plain(value: Any, kind: str) -> Any:
    """A Python value the drivers bind as the column's type (UUIDs as their text form)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None and kind == "TIMESTAMPTZ":
        return value.isoformat()
    return value


def tables(shop: Shop) -> dict[str, tuple[list[tuple[str, str]], list[list[Any]]]]:
    """Every raw table: its columns with their SQL types, and its rows."""
    out: dict[str, tuple[list[tuple[str, str]], list[list[Any]]]] = {
        "order_lines": (shop.raw_line_columns, [shop.line_values(line) for line in shop.lines])
    }
    if shop.products is not None:
        out["products"] = (
            [("product_id", shop.products_key_type or shop.types.product_id), ("category", "VARCHAR")],
            [list(p) for p in shop.products],
        )
    if shop.customers is not None:
        out["customers"] = (
            [("customer_id", shop.types.customer_id), ("email", "VARCHAR")],
            [list(c) for c in shop.customers],
        )
    if shop.events is not None:
        out["engagement_events"] = (
            [("customer_id", shop.types.customer_id), ("occurred_at", "TIMESTAMP"), ("event_type", "VARCHAR")],
            [list(e) for e in shop.events],
        )
    return out


def write_duckdb(shop: Shop, path: Any, schema: str = "raw") -> None:
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, (columns, rows) in tables(shop).items():
            ddl = ", ".join(f"{c} {_sql_type(t, False)}" for c, t in columns)
            con.execute(f"CREATE OR REPLACE TABLE {schema}.{name} ({ddl})")
            if rows:
                marks = ", ".join(
                    f"CAST(? AS {_sql_type(t, False)})" if t in ("UUID", "TIMESTAMPTZ", "TIMESTAMP_NS") else "?"
                    for _, t in columns
                )
                con.executemany(
                    f"INSERT INTO {schema}.{name} VALUES ({marks})",
                    [[_plain(v, t) for v, (_, t) in zip(row, columns, strict=True)] for row in rows],
                )
    finally:
        con.close()


def write_postgres(shop: Shop, connection: Any, schema: str = "raw") -> None:
    with connection.cursor() as cur:
        cur.execute(f"create schema if not exists {schema}")
        for name, (columns, rows) in tables(shop).items():
            ddl = ", ".join(f"{c} {_sql_type(t, True)}" for c, t in columns)
            cur.execute(f"drop table if exists {schema}.{name}")
            cur.execute(f"create table {schema}.{name} ({ddl})")
            marks = ", ".join(f"%s::{_sql_type(t, True)}" for _, t in columns)
            for row in rows:
                cur.execute(
                    f"insert into {schema}.{name} values ({marks})",
                    [_plain(v, t) for v, (_, t) in zip(row, columns, strict=True)],
                )
    connection.commit()
