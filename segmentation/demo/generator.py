"""Write the demo raw tables into DuckDB, chunk by chunk.

Customers are processed in fixed chunks of ``CHUNK_CUSTOMERS``; each chunk has
its own random streams derived from ``(seed, chunk index)``, so the output
depends only on the seed, the number of customers and the end date, and memory
stays bounded by one chunk (about 1.6 M order lines) however many customers
are asked for. Chunk arrays go to DuckDB as Arrow tables through
``con.register`` + ``INSERT ... SELECT``; the casts to the contract's types
(DECIMAL(12,2), VARCHAR) happen in that SELECT. Order ids are assigned per
chunk from 0 and shifted by the running total in SQL, which keeps them unique
and lets the next chunk be generated on a worker thread while DuckDB inserts
the current one.

Each chunk is committed into staging tables (DuckDB keeps uncommitted rows in
memory, so one big transaction would grow with the data); at the end one short
transaction drops the old tables and renames the staging tables into place. A
failed or interrupted run leaves the previous tables untouched.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from segmentation.demo.calendar import DEFAULT_END_DATE, Calendar
from segmentation.demo.catalog import Catalog, build_catalog
from segmentation.demo.orders import DIRTY_REASONS, STATUS_VALUES, generate_order_lines
from segmentation.demo.people import (
    ACQUISITION_CHANNELS,
    COUNTRIES,
    EVENT_CHANNELS,
    EVENT_TYPES,
    generate_customers,
    generate_engagement,
)
from segmentation.demo.personas import (
    BEHAVIORAL_PERSONAS,
    CATEGORIES,
    CHANNEL_PERSONAS,
    CHANNELS,
    VALUE_PERSONAS,
    draw_personas,
)

CHUNK_CUSTOMERS = 100_000
FIRST_CUSTOMER_ID = 1
FIRST_ORDER_ID = 1_000_001
MAX_CUSTOMERS = 50_000_000
"""Upper bound that catches typos (an extra zero or two) before hours of work."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

FULL_TABLES: tuple[str, ...] = (
    "order_lines",
    "customers",
    "products",
    "engagement_events",
    "demo_personas",
    "demo_dirty_rows_expected",
)

_DDL: dict[str, str] = {
    "order_lines": """(
        order_id BIGINT, line_number INTEGER, customer_id {customer_id}, ordered_at TIMESTAMP,
        product_id BIGINT, quantity INTEGER, unit_price DECIMAL(12,2), discount DECIMAL(12,2),
        channel VARCHAR, status VARCHAR)""",
    "order_lines_minimal": """(
        order_id BIGINT, customer_id {customer_id}, ordered_at TIMESTAMP, quantity INTEGER,
        unit_price DECIMAL(12,2))""",
    "customers": """(
        customer_id {customer_id}, email VARCHAR, created_at TIMESTAMP, country VARCHAR,
        acquisition_channel VARCHAR)""",
    "products": "(product_id BIGINT, category VARCHAR, brand VARCHAR)",
    "engagement_events": """(
        customer_id {customer_id}, occurred_at TIMESTAMP, event_type VARCHAR, channel VARCHAR)""",
    "demo_personas": """(
        customer_id {customer_id}, value_persona VARCHAR, behavioral_persona VARCHAR,
        channel_persona VARCHAR)""",
    "demo_dirty_rows_expected": "(reason VARCHAR, rows BIGINT)",
}


ID_STYLES: tuple[str, ...] = ("text", "integer")
"""``text``: customer ids like ``C000042`` (zero-padded VARCHAR, as most shops' systems
hand them out); ``integer``: BIGINT 42. Text is the default so that every test runs
on keys that must never be parsed as numbers."""
MIN_TEXT_ID_DIGITS = 6


@dataclass(frozen=True)
class _Ids:
    """How customer ids are written: their SQL type and the expression that formats one."""

    sql_type: str
    digits: int

    def expression(self, column: str = "customer_id") -> str:
        if self.sql_type == "BIGINT":
            return column
        return f"'C' || lpad(CAST({column} AS VARCHAR), {self.digits}, '0')"

    def email(self, column: str = "customer_id") -> str:
        """The customer's demo email, derived from the id as written: c000042@example.com or c42@example.com."""
        if self.sql_type == "BIGINT":
            return f"'c' || {column} || '@example.com'"
        return f"lower({self.expression(column)}) || '@example.com'"


def _ids(id_style: str, customers: int) -> _Ids:
    if id_style not in ID_STYLES:
        raise DemoDataError(f"id_style must be one of {', '.join(ID_STYLES)}, got {id_style!r}")
    if id_style == "integer":
        return _Ids("BIGINT", 0)
    return _Ids("VARCHAR", max(MIN_TEXT_ID_DIGITS, len(str(FIRST_CUSTOMER_ID + customers - 1))))


class DemoDataError(ValueError):
    """Bad arguments or an unusable target for the demo data generator."""


@dataclass
class _Chunk:
    """Arrow tables of one generated chunk plus its bookkeeping."""

    customers: int
    orders: int
    order_lines: pa.Table
    customers_table: pa.Table | None
    engagement: pa.Table | None
    personas: pa.Table | None
    dirty_counts: dict[str, int]


def _dictionary(
    codes: npt.NDArray[np.int8], values: tuple[str, ...], null: npt.NDArray[np.bool_] | None = None
) -> pa.DictionaryArray:
    indices = pa.array(codes, type=pa.int8(), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(values, type=pa.string()))


def _timestamps(us: npt.NDArray[np.int64], null: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    return pa.array(us, type=pa.timestamp("us"), mask=null)


def _generate_chunk(
    seed: int,
    chunk_index: int,
    first_customer: int,
    n_customers: int,
    calendar: Calendar,
    catalog: Catalog,
    minimal: bool,
) -> _Chunk:
    """Generate one chunk; pure function of its arguments (thread-safe)."""
    streams = np.random.SeedSequence(seed, spawn_key=(1, chunk_index)).spawn(4)
    persona_rng, order_rng, customer_rng, event_rng = (np.random.default_rng(s) for s in streams)
    customer_ids = np.arange(first_customer, first_customer + n_customers, dtype=np.int64)
    value = draw_personas(persona_rng, n_customers, [p.share for p in VALUE_PERSONAS])
    behavioral = draw_personas(persona_rng, n_customers, [p.share for p in BEHAVIORAL_PERSONAS])
    channel = draw_personas(persona_rng, n_customers, [p.share for p in CHANNEL_PERSONAS])

    lines = generate_order_lines(
        order_rng,
        customer_ids=customer_ids,
        value=value,
        behavioral=behavioral,
        channel=channel,
        calendar=calendar,
        catalog=catalog,
        first_order_id=0,
        anchor_newest_order=chunk_index == 0,
    )
    n_orders = int(lines.order_id.max()) + 1 if lines.rows else 0
    unit_price = pa.array(lines.unit_price_cents / 100.0, type=pa.float64())
    if minimal:
        order_lines = pa.table(
            {
                "order_id": pa.array(lines.order_id),
                "customer_id": pa.array(lines.customer_id, mask=lines.customer_id_null),
                "ordered_at": _timestamps(lines.ordered_at_us, lines.ordered_at_null),
                "quantity": pa.array(lines.quantity, type=pa.int32()),
                "unit_price": unit_price,
            }
        )
        return _Chunk(n_customers, n_orders, order_lines, None, None, None, lines.dirty_counts)

    order_lines = pa.table(
        {
            "order_id": pa.array(lines.order_id),
            "line_number": pa.array(lines.line_number, type=pa.int32()),
            "customer_id": pa.array(lines.customer_id, mask=lines.customer_id_null),
            "ordered_at": _timestamps(lines.ordered_at_us, lines.ordered_at_null),
            "product_id": pa.array(lines.product_id),
            "quantity": pa.array(lines.quantity, type=pa.int32()),
            "unit_price": unit_price,
            "discount": pa.array(lines.discount_cents / 100.0, mask=lines.discount_null),
            "channel": _dictionary(lines.channel, CHANNELS),
            "status": _dictionary(lines.status, STATUS_VALUES, lines.status_null),
        }
    )
    people = generate_customers(customer_rng, customer_ids, lines.first_order_us)
    customers_table = pa.table(
        {
            "customer_id": pa.array(people.customer_id),
            "created_at": _timestamps(people.created_at_us),
            "country": _dictionary(people.country, COUNTRIES),
            "acquisition_channel": _dictionary(people.acquisition_channel, ACQUISITION_CHANNELS),
        }
    )
    events = generate_engagement(event_rng, customer_ids, people.created_at_us, channel, calendar)
    engagement = pa.table(
        {
            "customer_id": pa.array(events.customer_id),
            "occurred_at": _timestamps(events.occurred_at_us),
            "event_type": _dictionary(events.event_type, EVENT_TYPES),
            "channel": _dictionary(events.channel, EVENT_CHANNELS),
        }
    )
    personas = pa.table(
        {
            "customer_id": pa.array(customer_ids),
            "value_persona": _dictionary(value, tuple(p.name for p in VALUE_PERSONAS)),
            "behavioral_persona": _dictionary(behavioral, tuple(p.name for p in BEHAVIORAL_PERSONAS)),
            "channel_persona": _dictionary(channel, tuple(p.name for p in CHANNEL_PERSONAS)),
        }
    )
    return _Chunk(
        n_customers,
        n_orders,
        order_lines,
        customers_table,
        engagement,
        personas,
        lines.dirty_counts,
    )


def _chunks(seed: int, customers: int, calendar: Calendar, catalog: Catalog, minimal: bool) -> Iterator[_Chunk]:
    """Yield chunks in order, generating the next one while the caller writes this one."""
    starts = list(range(0, customers, CHUNK_CUSTOMERS))

    def submit(pool: ThreadPoolExecutor, index: int) -> Future[_Chunk]:
        start = starts[index]
        size = min(CHUNK_CUSTOMERS, customers - start)
        return pool.submit(
            _generate_chunk,
            seed,
            index,
            FIRST_CUSTOMER_ID + start,
            size,
            calendar,
            catalog,
            minimal,
        )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-data") as pool:
        upcoming = submit(pool, 0)
        for index in range(len(starts)):
            current = upcoming
            if index + 1 < len(starts):
                upcoming = submit(pool, index + 1)
            yield current.result()


def _validate(customers: int, seed: int, schema: str) -> None:
    if isinstance(customers, bool) or not isinstance(customers, int):
        raise DemoDataError(f"customers must be an integer, got {customers!r}")
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise DemoDataError(f"customers must be between 1 and {MAX_CUSTOMERS:,}, got {customers:,}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DemoDataError(f"seed must be a non-negative integer, got {seed!r}")
    if not _IDENTIFIER.match(schema):
        raise DemoDataError(f"schema {schema!r} is not a plain SQL identifier (letters, digits, underscore)")


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    if path.exists() and path.is_dir():
        raise DemoDataError(f"DuckDB path {path} is a directory, expected a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoDataError(f"cannot create the folder for DuckDB file {path}: {exc}") from exc
    try:
        return duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise DemoDataError(f"cannot open DuckDB file {path}: {exc}") from exc


def generate_demo_data(
    path: str | Path,
    customers: int,
    seed: int,
    schema: str = "raw",
    minimal: bool = False,
    end_date: date | None = None,
    progress: bool = False,
    id_style: str = "text",
) -> dict[str, int]:
    """Generate the demo raw tables into the DuckDB file at ``path``.

    Tables in ``schema`` are replaced. With ``minimal`` only ``order_lines``
    with the five required columns is written and the other demo tables are
    dropped, so the schema looks exactly like a minimal input. ``end_date`` is
    the date of the newest order (default 2026-10-31). ``id_style`` is ``text``
    (customer ids ``C000001``, the default) or ``integer`` (see :data:`ID_STYLES`).
    Returns the number of rows written per table.
    """
    _validate(customers, seed, schema)
    ids = _ids(id_style, customers)
    end = end_date or DEFAULT_END_DATE
    calendar = Calendar(end)
    catalog = build_catalog(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,))))
    on_chunk = _progress_callback(customers) if progress else None
    con = _connect(Path(path))
    try:
        return _write(con, schema, customers, seed, calendar, catalog, minimal, on_chunk, ids)
    finally:
        con.close()
        if on_chunk is not None:
            on_chunk(-1)


STAGING_PREFIX = "_demo_staging_"
"""Tables are filled under this prefix and renamed into place at the end."""


def _staging(q: str, table: str) -> str:
    return f'{q}."{STAGING_PREFIX}{table}"'


def _write(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    customers: int,
    seed: int,
    calendar: Calendar,
    catalog: Catalog,
    minimal: bool,
    on_chunk: Callable[[int], None] | None,
    ids: _Ids,
) -> dict[str, int]:
    """Fill staging tables chunk by chunk, then swap them in with one transaction.

    Committing every chunk keeps memory flat (DuckDB holds uncommitted inserts
    in memory); the final rename keeps the run all-or-nothing for readers.
    """
    q = f'"{schema}"'
    tables = ("order_lines",) if minimal else FULL_TABLES
    counts = dict.fromkeys(tables, 0)
    dirty = dict.fromkeys(DIRTY_REASONS, 0)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {q}")
    try:
        for table in FULL_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {_staging(q, table)}")
        ddl = _DDL["order_lines_minimal" if minimal else "order_lines"]
        con.execute(f"CREATE TABLE {_staging(q, 'order_lines')} {ddl.format(customer_id=ids.sql_type)}")
        if not minimal:
            for table in FULL_TABLES[1:]:
                con.execute(f"CREATE TABLE {_staging(q, table)} {_DDL[table].format(customer_id=ids.sql_type)}")
            counts["products"] = _insert_products(con, q, catalog)

        order_offset = FIRST_ORDER_ID
        for chunk in _chunks(seed, customers, calendar, catalog, minimal):
            con.execute("BEGIN TRANSACTION")
            _insert_chunk(con, q, chunk, order_offset, minimal, ids)
            con.execute("COMMIT")
            order_offset += chunk.orders
            counts["order_lines"] += chunk.order_lines.num_rows
            for reason, rows in chunk.dirty_counts.items():
                dirty[reason] += rows
            if not minimal:
                assert chunk.engagement is not None
                counts["customers"] += chunk.customers
                counts["demo_personas"] += chunk.customers
                counts["engagement_events"] += chunk.engagement.num_rows
            if on_chunk is not None:
                on_chunk(chunk.customers)

        if not minimal:
            con.executemany(
                f"INSERT INTO {_staging(q, 'demo_dirty_rows_expected')} VALUES (?, ?)",
                [[reason, dirty[reason]] for reason in DIRTY_REASONS],
            )
            counts["demo_dirty_rows_expected"] = len(DIRTY_REASONS)

        con.execute("BEGIN TRANSACTION")
        for table in FULL_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {q}.{table}")
        for table in tables:
            con.execute(f'ALTER TABLE {_staging(q, table)} RENAME TO "{table}"')
        con.execute("COMMIT")
    except BaseException:
        _drop_staging(con, q)
        raise
    return counts


def _drop_staging(con: duckdb.DuckDBPyConnection, q: str) -> None:
    """Best-effort clean-up after a failure; the original error is what matters."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")
    for table in FULL_TABLES:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {_staging(q, table)}")


def _insert_products(con: duckdb.DuckDBPyConnection, q: str, catalog: Catalog) -> int:
    products = pa.table(
        {
            "product_id": pa.array(catalog.product_id),
            "category": _dictionary(catalog.category, CATEGORIES),
            "brand": pa.array(catalog.brand, type=pa.string()),
        }
    )
    _insert_select(con, _staging(q, "products"), products, "product_id, category, brand")
    return products.num_rows


def _insert_select(con: duckdb.DuckDBPyConnection, target: str, table: pa.Table, select: str) -> None:
    """``INSERT INTO target SELECT <select>`` from an arrow table, registered for the statement."""
    con.register("demo_chunk", table)
    try:
        con.execute(f"INSERT INTO {target} SELECT {select} FROM demo_chunk")
    finally:
        con.unregister("demo_chunk")


def _insert_chunk(
    con: duckdb.DuckDBPyConnection, q: str, chunk: _Chunk, order_offset: int, minimal: bool, ids: _Ids
) -> None:
    cid = ids.expression()
    if minimal:
        _insert_select(
            con,
            _staging(q, "order_lines"),
            chunk.order_lines,
            f"order_id + {order_offset}, {cid}, ordered_at, quantity, CAST(unit_price AS DECIMAL(12,2))",
        )
        return
    _insert_select(
        con,
        _staging(q, "order_lines"),
        chunk.order_lines,
        f"order_id + {order_offset}, line_number, {cid}, ordered_at, product_id, quantity, "
        "CAST(unit_price AS DECIMAL(12,2)), CAST(discount AS DECIMAL(12,2)), channel, status",
    )
    assert chunk.customers_table is not None
    assert chunk.engagement is not None
    assert chunk.personas is not None
    for name, table, select in (
        (
            "customers",
            chunk.customers_table,
            f"{cid}, {ids.email()}, created_at, country, acquisition_channel",
        ),
        ("engagement_events", chunk.engagement, f"{cid}, occurred_at, event_type, channel"),
        (
            "demo_personas",
            chunk.personas,
            f"{cid}, value_persona, behavioral_persona, channel_persona",
        ),
    ):
        _insert_select(con, _staging(q, name), table, select)


def _progress_callback(customers: int) -> Callable[[int], None]:
    """A rich progress bar on stderr; call with customers done, -1 to close."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = bar.add_task("demo customers", total=customers)
    bar.start()

    def update(done: int) -> None:
        if done < 0:
            bar.stop()
        else:
            bar.update(task, advance=done)

    return update
