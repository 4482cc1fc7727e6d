"""Read-only access to the warehouse the report describes.

The report reads the DuckDB file that ``dbt build`` and ``segments sync`` write. It
opens the file read-only, so rendering a report can never change the system of
record, and it asks the catalogue which relations exist before it queries one: the
report is built by several independent stages (features, segmentation, history,
sync), and a stage that has not run yet must turn into a clear "not available" note
in the page, never a crash half-way through rendering.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd

DEFAULT_SCHEMA = "main"
DEFAULT_SYNC_SCHEMA = "segments_sync"


class ReportError(RuntimeError):
    """The warehouse cannot be read at all (missing file, locked file, not a database)."""


@dataclass(frozen=True)
class Missing:
    """A section's input that is absent, with the reason shown in the page."""

    relation: str
    reason: str = "not built"

    @property
    def message(self) -> str:
        return f"not available: {self.relation} {self.reason}"


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB (relation names come from code, not users)."""
    return '"' + name.replace('"', '""') + '"'


class Source:
    """A read-only DuckDB connection plus a cached view of its catalogue."""

    def __init__(
        self,
        path: Path,
        schema: str = DEFAULT_SCHEMA,
        sync_schema: str = DEFAULT_SYNC_SCHEMA,
    ) -> None:
        self.path = path
        self.schema = schema
        self.sync_schema = sync_schema
        if not path.exists():
            raise ReportError(
                f"DuckDB file {path} does not exist: run `make demo` or `dbt build` first "
                "(or point --duckdb / SEGMENTS_DUCKDB_PATH at your warehouse file)"
            )
        try:
            self._con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ReportError(
                f"cannot open DuckDB file {path} read-only: {first_line} (is dbt or a sync still writing to it?)"
            ) from exc
        self._columns: dict[tuple[str, str], tuple[str, ...]] = {}
        rows = self._con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
        for schema_name, table, column in rows:
            key = (str(schema_name).lower(), str(table).lower())
            self._columns[key] = (*self._columns.get(key, ()), str(column).lower())

    # -- context manager ------------------------------------------------------------
    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- catalogue ------------------------------------------------------------------
    def _key(self, relation: str, schema: str | None) -> tuple[str, str]:
        return ((schema or self.schema).lower(), relation.lower())

    def has(self, relation: str, schema: str | None = None) -> bool:
        return self._key(relation, schema) in self._columns

    def columns(self, relation: str, schema: str | None = None) -> tuple[str, ...]:
        return self._columns.get(self._key(relation, schema), ())

    def qualified(self, relation: str, schema: str | None = None) -> str:
        return f"{quote_ident(schema or self.schema)}.{quote_ident(relation)}"

    def check(self, relation: str, needed: Iterable[str] = (), schema: str | None = None) -> Missing | None:
        """``None`` when the relation exists with every needed column, else why not."""
        label = relation if schema is None or schema == self.schema else f"{schema}.{relation}"
        if not self.has(relation, schema):
            return Missing(label)
        present = set(self.columns(relation, schema))
        absent = [c for c in needed if c.lower() not in present]
        if absent:
            return Missing(label, f"lacks column(s) {', '.join(absent)}")
        return None

    # -- queries --------------------------------------------------------------------
    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run a query and return a pandas frame (results are small: aggregates, samples)."""
        return self._con.execute(sql, list(params)).df()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._con.execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        result = self._con.execute(sql, list(params)).fetchall()
        return result[0][0] if result else None
