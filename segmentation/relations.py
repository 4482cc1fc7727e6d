"""The one place that knows what a warehouse relation is.

dbt hands a Python model a platform object: a DuckDB relation (dbt-duckdb), a Snowpark
DataFrame (dbt-snowflake) or a Spark DataFrame (dbt-databricks, dbt-bigquery on
Dataproc). Everything else in the package works on pandas; these helpers convert,
project columns before converting (so only the view's features cross the wire), and
stream in batches where the platform can, so memory does not grow with the number of
customers. Platforms are recognised by their methods, not imported, so none of them is
a dependency.

Column names are lower-cased on the way in because Snowflake returns unquoted
identifiers in upper case.

Keys are opaque: ``customer_id``, ``order_id`` and ``product_id`` cross into pandas
and back out with their source type and value (a zero-padded text id stays text, a
DECIMAL id is never turned into a float), and an output's key column takes its Arrow
type from the input relation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

KEY_COLUMNS: frozenset[str] = frozenset({"customer_id", "order_id", "product_id"})
"""Columns that are identifiers, never quantities: passed through exactly."""


def platform(relation: Any) -> str:
    """``duckdb``, ``snowpark`` or ``spark`` for a supported relation, else an error."""
    if hasattr(relation, "to_arrow_reader") and hasattr(relation, "df"):
        return "duckdb"
    if hasattr(relation, "to_pandas_batches") and hasattr(relation, "to_pandas"):
        return "snowpark"
    if hasattr(relation, "toPandas"):
        return "spark"
    raise TypeError(
        f"unsupported relation type {type(relation).__module__}.{type(relation).__name__}: "
        "expected a DuckDB relation, a Snowpark DataFrame or a Spark DataFrame"
    )


def columns_of(relation: Any) -> list[str]:
    """Column names of the relation, lower-cased."""
    return [str(c).strip('"').lower() for c in relation.columns]


def _actual_names(relation: Any, wanted: Sequence[str]) -> list[str]:
    by_lower = {str(c).strip('"').lower(): str(c) for c in relation.columns}
    missing = [c for c in wanted if c.lower() not in by_lower]
    if missing:
        raise KeyError(f"columns {missing} not found; available: {sorted(by_lower)}")
    return [by_lower[c.lower()] for c in wanted]


def project(relation: Any, columns: Sequence[str] | None) -> Any:
    if columns is None:
        return relation
    names = _actual_names(relation, columns)
    kind = platform(relation)
    if kind == "duckdb":
        return relation.project(", ".join('"' + n.replace('"', '""') + '"' for n in names))
    return relation.select(*names)


def _lower(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame


def to_pandas(relation: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The whole relation (or the given columns) as one pandas DataFrame."""
    rel = project(relation, columns)
    kind = platform(rel)
    if kind == "duckdb":
        return _lower(rel.df())
    if kind == "snowpark":
        return _lower(rel.to_pandas())
    return _lower(rel.toPandas())


def iter_pandas(
    relation: Any, columns: Sequence[str] | None = None, batch_size: int = 100_000
) -> Iterator[pd.DataFrame]:
    """Yield the relation as pandas batches of at most about ``batch_size`` rows.

    DuckDB streams Arrow record batches and Snowpark streams pandas batches, so memory
    stays bounded. Spark has no cheap batched pandas export, so its result is split
    after collection (use a cluster-side model there for very large tables).
    """
    rel = project(relation, columns)
    kind = platform(rel)
    if kind == "duckdb":
        for batch in rel.to_arrow_reader(batch_size):
            yield _lower(_decimals_to_float(batch).to_pandas())
        return
    if kind == "snowpark":
        for frame in rel.to_pandas_batches():
            yield _lower(frame)
        return
    frame = _lower(rel.toPandas())
    for start in range(0, len(frame), batch_size):
        yield frame.iloc[start : start + batch_size]


def _decimals_to_float(batch: Any) -> Any:
    """Cast DECIMAL feature columns to float64 before pandas (which would make Python objects).

    Key columns keep their type: a DECIMAL(20,0) customer id must come back exactly.
    """
    import pyarrow as pa

    def convert(field: Any) -> bool:
        return bool(pa.types.is_decimal(field.type)) and field.name.lower() not in KEY_COLUMNS

    if not any(convert(f) for f in batch.schema):
        return batch
    arrays = [
        col.cast(pa.float64()) if convert(field) else col
        for field, col in zip(batch.schema, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def arrow_type_of(relation: Any, column: str) -> Any:
    """The Arrow type of one column of a relation, read without fetching rows.

    For DuckDB this is the type dbt-duckdb will see again when the model's output is
    written; other platforms return ``None`` (their pandas output keeps the dtype).
    """
    if platform(relation) != "duckdb":
        return None
    projected = project(relation, [column]).limit(0)
    return projected.to_arrow_reader(1).schema.field(0).type


def sql(session: Any, query: str) -> Any:
    """Run a query on the model's session and return a relation."""
    return session.sql(query)


def read_table(session: Any, relation_name: str) -> pd.DataFrame:
    """A table by its rendered name (``dbt.this``) as pandas, e.g. previous model rows."""
    return to_pandas(sql(session, f"select * from {relation_name}"))


def join_on(left: Any, right: Any, key: str) -> Any:
    """Inner join of two relations of the same platform on one key column."""
    kind = platform(left)
    if kind == "duckdb":
        return left.join(right, key)
    if kind == "snowpark":
        return left.join(right, on=key)
    return left.join(right, on=key, how="inner")


def arrow_output(
    session: Any, batches: Iterable[pd.DataFrame], example: pd.DataFrame, types: Mapping[str, Any] | None = None
) -> Any:
    """What a Python model returns for a stream of result batches.

    On DuckDB an Arrow ``RecordBatchReader`` (dbt-duckdb materialises it without
    holding every row in Python); elsewhere a single pandas DataFrame, which every
    dbt adapter with Python models accepts. ``example`` fixes the schema (an empty
    frame with the final dtypes) so an empty result still has typed columns;
    ``types`` overrides the Arrow type of some columns, e.g. a key column typed as the
    input's (see :func:`arrow_type_of`).
    """
    import pyarrow as pa

    schema = pa.Schema.from_pandas(example, preserve_index=False)
    for name, arrow_type in (types or {}).items():
        if arrow_type is not None:
            schema = schema.set(schema.get_field_index(name), pa.field(name, arrow_type))
    if hasattr(session, "register") and hasattr(session, "execute"):

        def gen() -> Iterator[pa.RecordBatch]:
            for frame in batches:
                yield pa.RecordBatch.from_pandas(frame, schema=schema, preserve_index=False)

        return pa.RecordBatchReader.from_batches(schema, gen())
    frames = list(batches)
    return pd.concat(frames, ignore_index=True) if frames else example


def log(message: str) -> None:
    """A line in the dbt log when running inside dbt, else on stdout."""
    try:
        from dbt_common.events.functions import fire_event
        from dbt_common.events.types import Note

        fire_event(Note(msg=f"segments: {message}"))
    except Exception:
        print(f"segments: {message}")
