"""Warehouse access: DuckDB natively, every other dbt adapter through dbt's connection.

The sync needs four things from a warehouse: stream a query in chunks, run a
statement, insert rows and upsert rows. DuckDB gets a native implementation
(Arrow record batches in, Arrow tables registered for bulk writes: thousands of
rows in a few milliseconds). Any other adapter (Snowflake, BigQuery,
Databricks, Postgres…) is opened through the adapter's own dbt
``ConnectionManager`` with the rendered profile, and driven through its DB-API
handle with ``fetchmany``. SQL text is generated with literals rendered by the
:class:`Dialect` (identifiers are validated plain names), because bind-parameter
styles differ between drivers.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from sync.config import Relation, WarehouseConfig
from sync.errors import ConfigError, WarehouseError
from sync.profiles import ResolvedTarget, resolve_target
from sync.secrets import clean_error

log = logging.getLogger(__name__)

ColumnType = Literal["string", "integer", "timestamp", "boolean", "double"]


@dataclass(frozen=True)
class Dialect:
    """The few SQL spellings that differ between warehouses."""

    name: str = "ansi"
    string_type: str = "VARCHAR"
    integer_type: str = "BIGINT"
    timestamp_type: str = "TIMESTAMP"
    boolean_type: str = "BOOLEAN"
    double_type: str = "DOUBLE PRECISION"
    backslash_escapes: bool = False

    def type_for(self, kind: ColumnType) -> str:
        return {
            "string": self.string_type,
            "integer": self.integer_type,
            "timestamp": self.timestamp_type,
            "boolean": self.boolean_type,
            "double": self.double_type,
        }[kind]

    def string(self, value: str) -> str:
        if self.backslash_escapes:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + value.replace("'", "''") + "'"

    def literal(self, value: Any) -> str:
        """Render a Python value as a SQL literal."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                return "NULL"
            return repr(value)
        if isinstance(value, dt.datetime):
            return f"TIMESTAMP '{value.replace(tzinfo=None).isoformat(sep=' ')}'"
        if isinstance(value, dt.date):
            return f"DATE '{value.isoformat()}'"
        return self.string(str(value))

    def relation(self, relation: Relation) -> str:
        return ".".join(relation.parts)


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect("duckdb", double_type="DOUBLE"),
    "postgres": Dialect("postgres"),
    "redshift": Dialect("redshift", string_type="VARCHAR(65535)"),
    "snowflake": Dialect("snowflake", double_type="DOUBLE"),
    "bigquery": Dialect(
        "bigquery",
        string_type="STRING",
        integer_type="INT64",
        boolean_type="BOOL",
        double_type="FLOAT64",
        backslash_escapes=True,
    ),
    "databricks": Dialect("databricks", string_type="STRING", double_type="DOUBLE", backslash_escapes=True),
    "spark": Dialect("spark", string_type="STRING", double_type="DOUBLE", backslash_escapes=True),
}


@dataclass(frozen=True)
class TableColumn:
    """A column of a table the sync writes (the ledger)."""

    name: str
    kind: ColumnType


class Warehouse(Protocol):
    """What the sync needs from a warehouse connection."""

    dialect: Dialect
    description: str

    def stream(self, sql: str, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
        """Yield the rows of ``sql`` in lists of at most ``batch_rows`` dicts."""
        ...

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run ``sql`` and return all rows (for small results only)."""
        ...

    def execute(self, sql: str) -> None:
        """Run a statement and commit it."""
        ...

    def columns(self, relation: Relation) -> dict[str, str]:
        """Column name (lower case) -> type name; :class:`WarehouseError` if absent."""
        ...

    def exists(self, relation: Relation) -> bool:
        """Whether ``relation`` can be selected from."""
        ...

    def insert_rows(self, relation: Relation, columns: Sequence[TableColumn], rows: Sequence[Sequence[Any]]) -> None:
        """Append ``rows`` (tuples in ``columns`` order)."""
        ...

    def upsert_rows(
        self,
        relation: Relation,
        key: Sequence[str],
        columns: Sequence[TableColumn],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert ``rows``, replacing rows with the same ``key`` columns."""
        ...

    def close(self) -> None: ...


def _last_row_per_key(rows: Sequence[Sequence[Any]], key_idx: Sequence[int]) -> list[Sequence[Any]]:
    """``rows`` with one row per key (the values at ``key_idx``): the last one given.

    A batch may name the same key twice (e.g. two triggers of one member): ON CONFLICT
    cannot update a row twice in one statement, and delete-then-insert would insert it twice.
    """
    unique: dict[tuple[Any, ...], Sequence[Any]] = {}
    for row in rows:
        unique[tuple(row[i] for i in key_idx)] = row
    return list(unique.values())


class DuckDBWarehouse:
    """A DuckDB file opened natively (no dbt in the hot path)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        import duckdb

        self.path = path
        self.dialect = DIALECTS["duckdb"]
        self.description = f"DuckDB file {path}"
        if read_only and not path.exists():
            raise WarehouseError(
                f"DuckDB file {path} does not exist: run `dbt build` first (or set SEGMENTS_DUCKDB_PATH)"
            )
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open DuckDB file {path}: {clean_error(exc)}") from exc
        self._tmp_counter = 0

    def stream(self, sql: str, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
        import duckdb

        cursor = self._con.cursor()
        try:
            try:
                reader = cursor.sql(sql).to_arrow_reader(batch_rows)
            except duckdb.Error as exc:
                raise WarehouseError(f"query failed: {clean_error(exc)}") from exc
            for batch in reader:
                if batch.num_rows:
                    yield batch.to_pylist()
        finally:
            cursor.close()

    def query(self, sql: str) -> list[dict[str, Any]]:
        import duckdb

        try:
            cursor = self._con.cursor()
            try:
                result = cursor.execute(sql)
                names = [d[0] for d in result.description or []]
                return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
            finally:
                cursor.close()
        except duckdb.Error as exc:
            raise WarehouseError(f"query failed: {clean_error(exc)}") from exc

    def execute(self, sql: str) -> None:
        import duckdb

        try:
            self._con.execute(sql)
        except duckdb.Error as exc:
            raise WarehouseError(f"statement failed: {clean_error(exc)}") from exc

    def columns(self, relation: Relation) -> dict[str, str]:
        import duckdb

        try:
            rel = self._con.sql(f"SELECT * FROM {self.dialect.relation(relation)} LIMIT 0")
        except duckdb.CatalogException as exc:
            raise WarehouseError(f"table {relation} not found in {self.description}: {clean_error(exc)}") from exc
        return {name.lower(): str(t) for name, t in zip(rel.columns, rel.types, strict=True)}

    def exists(self, relation: Relation) -> bool:
        try:
            self.columns(relation)
        except WarehouseError:
            return False
        return True

    def _arrow(self, columns: Sequence[TableColumn], rows: Sequence[Sequence[Any]]) -> Any:
        import pyarrow as pa

        types = {
            "string": pa.string(),
            "integer": pa.int64(),
            "timestamp": pa.timestamp("us"),
            "boolean": pa.bool_(),
            "double": pa.float64(),
        }
        arrays = []
        for i, col in enumerate(columns):
            values = [row[i] for row in rows]
            if col.kind == "timestamp":
                values = [v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in values]
            arrays.append(pa.array(values, type=types[col.kind]))
        return pa.Table.from_arrays(arrays, names=[c.name for c in columns])

    def _with_registered(self, table: Any, sql_template: str) -> None:
        import duckdb

        self._tmp_counter += 1
        name = f"__sync_rows_{self._tmp_counter}"
        cursor = self._con.cursor()
        try:
            cursor.register(name, table)
            cursor.execute(sql_template.format(src=name))
        except duckdb.Error as exc:
            raise WarehouseError(f"write failed: {clean_error(exc)}") from exc
        finally:
            try:
                cursor.unregister(name)
            finally:
                cursor.close()

    def insert_rows(self, relation: Relation, columns: Sequence[TableColumn], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        names = ", ".join(c.name for c in columns)
        self._with_registered(
            self._arrow(columns, rows),
            f"INSERT INTO {self.dialect.relation(relation)} ({names}) SELECT {names} FROM {{src}}",
        )

    def upsert_rows(
        self,
        relation: Relation,
        key: Sequence[str],
        columns: Sequence[TableColumn],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        if not rows:
            return
        key_idx = [i for i, c in enumerate(columns) if c.name in key]
        names = ", ".join(c.name for c in columns)
        updates = ", ".join(f"{c.name} = excluded.{c.name}" for c in columns if c.name not in key)
        self._with_registered(
            self._arrow(columns, _last_row_per_key(rows, key_idx)),
            f"INSERT INTO {self.dialect.relation(relation)} ({names}) SELECT {names} FROM {{src}} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}",
        )

    def close(self) -> None:
        self._con.close()


class DbtAdapterWarehouse:
    """Any dbt adapter, through its ``ConnectionManager`` and DB-API handle.

    Used for every adapter but DuckDB (and for DuckDB when ``warehouse.method``
    is ``dbt``, which is how this path is tested). Writes use multi-row
    ``INSERT ... VALUES`` and delete-then-insert upserts, which every SQL
    warehouse accepts.
    """

    _ROWS_PER_STATEMENT = 200

    def __init__(self, target: ResolvedTarget) -> None:
        from dbt.adapters.contracts.connection import Connection, Identifier
        from dbt.adapters.factory import get_adapter_class_by_name, load_plugin

        self.dialect = DIALECTS.get(target.adapter_type, Dialect(target.adapter_type))
        self.description = target.describe()
        try:
            credentials_cls = load_plugin(target.adapter_type)
        except Exception as exc:
            raise WarehouseError(
                f"dbt adapter {target.adapter_type!r} is not installed "
                f"(pip install dbt-{target.adapter_type}): {clean_error(exc)}"
            ) from exc
        settings = dict(target.settings)
        settings.pop("threads", None)
        if target.adapter_type == "duckdb":
            settings["path"] = str(_duckdb_path(target))
            # Release the file when the sync closes its connections (dbt-duckdb
            # keeps its database open for the whole process otherwise).
            settings["keep_open"] = False
        try:
            credentials = credentials_cls.from_dict(settings)
        except Exception as exc:
            raise WarehouseError(f"invalid settings in {self.description}: {clean_error(exc)}") from exc
        adapter_cls = get_adapter_class_by_name(target.adapter_type)
        self._manager = adapter_cls.ConnectionManager
        self._connections: list[Any] = []

        def connect(name: str) -> Any:
            connection = Connection(type=Identifier(target.adapter_type), name=name, credentials=credentials)
            try:
                opened = adapter_cls.ConnectionManager.open(connection)
            except Exception as exc:
                raise WarehouseError(f"cannot connect ({self.description}): {clean_error(exc)}") from exc
            self._connections.append(opened)
            handle = opened.handle
            if not hasattr(handle, "cursor"):
                # dbt-bigquery hands out a google.cloud.bigquery Client.
                try:
                    from google.cloud.bigquery import dbapi
                except ImportError as exc:  # pragma: no cover - depends on the adapter
                    raise WarehouseError(f"the {target.adapter_type} connection has no DB-API cursor") from exc
                handle = dbapi.connect(client=handle)
            return handle

        # Two connections: one streams the segments while the other writes the
        # ledger (some handles, e.g. dbt-duckdb's, hand out one shared cursor).
        self._reader = connect("segments_sync_read")
        self._handle = connect("segments_sync_write")

    def _commit(self) -> None:
        commit = getattr(self._handle, "commit", None)
        if callable(commit):
            try:
                commit()
            except Exception as exc:  # some handles autocommit and refuse commit()
                log.debug("commit not supported: %s", clean_error(exc))

    def _run(self, sql: str, handle: Any = None) -> Any:
        """Execute on a fresh cursor of ``handle`` (the writer by default).

        Cursors are not closed explicitly: DB-API drivers close them when they
        are collected, and dbt-duckdb's handle returns one shared cursor whose
        close() would close the connection.
        """
        handle = handle or self._handle
        cursor = handle.cursor()
        try:
            cursor.execute(sql)
        except Exception as exc:
            self._rollback(handle)
            raise WarehouseError(f"statement failed: {clean_error(exc)}") from exc
        return cursor

    @staticmethod
    def _rollback(handle: Any) -> None:
        """End the failed transaction, which PostgreSQL would otherwise keep refusing statements in."""
        rollback = getattr(handle, "rollback", None)
        if callable(rollback):
            try:
                rollback()
            except Exception as exc:  # autocommit handles have nothing to roll back
                log.debug("rollback not supported: %s", clean_error(exc))

    def stream(self, sql: str, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
        cursor = self._run(sql, self._reader)
        names = [d[0].lower() for d in cursor.description or []]
        fetchmany = getattr(cursor, "fetchmany", None)
        if not callable(fetchmany):  # dbt-spark's session cursor can only fetch everything
            rows = cursor.fetchall()
            for start in range(0, len(rows), batch_rows):
                yield [dict(zip(names, row, strict=True)) for row in rows[start : start + batch_rows]]
            return
        while True:
            rows = fetchmany(batch_rows)
            if not rows:
                break
            yield [dict(zip(names, row, strict=True)) for row in rows]

    def query(self, sql: str) -> list[dict[str, Any]]:
        cursor = self._run(sql)
        names = [d[0].lower() for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def execute(self, sql: str) -> None:
        self._run(sql)
        self._commit()

    def columns(self, relation: Relation) -> dict[str, str]:
        try:
            cursor = self._run(f"SELECT * FROM {self.dialect.relation(relation)} WHERE 1 = 0")
        except WarehouseError as exc:
            raise WarehouseError(f"table {relation} not found or not readable: {exc}") from exc
        columns = {d[0].lower(): str(d[1]) for d in cursor.description or []}
        cursor.fetchall()
        return columns

    def exists(self, relation: Relation) -> bool:
        try:
            self.columns(relation)
        except WarehouseError:
            return False
        return True

    def _values(self, rows: Sequence[Sequence[Any]]) -> str:
        lit = self.dialect.literal
        return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)

    def insert_rows(self, relation: Relation, columns: Sequence[TableColumn], rows: Sequence[Sequence[Any]]) -> None:
        names = ", ".join(c.name for c in columns)
        target = self.dialect.relation(relation)
        for start in range(0, len(rows), self._ROWS_PER_STATEMENT):
            chunk = rows[start : start + self._ROWS_PER_STATEMENT]
            self._run(f"INSERT INTO {target} ({names}) VALUES {self._values(chunk)}")
        self._commit()

    def upsert_rows(
        self,
        relation: Relation,
        key: Sequence[str],
        columns: Sequence[TableColumn],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        key_idx = [i for i, c in enumerate(columns) if c.name in key]
        key_names = [columns[i].name for i in key_idx]
        deduped = _last_row_per_key(rows, key_idx)
        target = self.dialect.relation(relation)
        names = ", ".join(c.name for c in columns)
        lit = self.dialect.literal
        for start in range(0, len(deduped), self._ROWS_PER_STATEMENT):
            chunk = deduped[start : start + self._ROWS_PER_STATEMENT]
            predicate = " OR ".join(
                "(" + " AND ".join(f"{n} = {lit(row[i])}" for n, i in zip(key_names, key_idx, strict=True)) + ")"
                for row in chunk
            )
            self._run(f"DELETE FROM {target} WHERE {predicate}")
            self._run(f"INSERT INTO {target} ({names}) VALUES {self._values(chunk)}")
            self._commit()

    def close(self) -> None:
        for connection in self._connections:
            try:
                self._manager.close(connection)
            except Exception as exc:  # closing is best effort
                log.debug("close failed: %s", clean_error(exc))


def _duckdb_path(target: ResolvedTarget) -> Path:
    raw = str(target.settings.get("path") or ":memory:")
    if raw == ":memory:" or raw.startswith(("md:", "motherduck:")):
        raise ConfigError(f"{target.describe()}: the sync needs a DuckDB file on disk (path is {raw!r})")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = target.project_dir / path
    return path


def open_warehouse(
    config: WarehouseConfig,
    *,
    read_only: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Warehouse:
    """Connect to the warehouse named by the user's dbt profile and target."""
    target = resolve_target(config, environ)
    use_native = target.adapter_type == "duckdb" and config.method in ("auto", "duckdb")
    if config.method == "duckdb" and target.adapter_type != "duckdb":
        raise ConfigError(f"warehouse.method is duckdb but {target.describe()} is a {target.adapter_type} target")
    if use_native:
        return DuckDBWarehouse(_duckdb_path(target), read_only=read_only)
    return DbtAdapterWarehouse(target)
