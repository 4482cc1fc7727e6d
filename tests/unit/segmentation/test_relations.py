"""The relation shim: DuckDB for real, Snowpark and Spark through look-alike objects."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from segmentation import relations


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute(
        'create table t as select range as customer_id, range * 1.5 as "Spend", '
        "cast(range as decimal(18, 2)) as money, 'x' as note from range(2500)"
    )
    yield connection
    connection.close()


def test_duckdb_columns_are_lower_cased(con: duckdb.DuckDBPyConnection) -> None:
    rel = con.table("t")
    assert relations.platform(rel) == "duckdb"
    assert relations.columns_of(rel) == ["customer_id", "spend", "money", "note"]


def test_duckdb_projection_and_batches(con: duckdb.DuckDBPyConnection) -> None:
    rel = con.table("t")
    batches = list(relations.iter_pandas(rel, ["customer_id", "spend", "money"], batch_size=1000))
    assert sum(len(b) for b in batches) == 2500 and len(batches) >= 3
    assert list(batches[0].columns) == ["customer_id", "spend", "money"]
    assert batches[0]["money"].dtype == "float64"  # decimals arrive as floats, not Python objects
    whole = relations.to_pandas(rel, ["note"])
    assert list(whole.columns) == ["note"] and len(whole) == 2500


def test_unknown_column_is_named(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(KeyError, match="nope"):
        relations.to_pandas(con.table("t"), ["nope"])


def test_read_table_and_join(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table s as select range as customer_id, range % 3 as seg from range(10)")
    assert len(relations.read_table(con, "main.s")) == 10
    joined = relations.join_on(con.table("t"), con.table("s"), "customer_id")
    assert len(relations.to_pandas(joined)) == 10


def test_arrow_output_streams_on_duckdb(con: duckdb.DuckDBPyConnection) -> None:
    example = pd.DataFrame({"a": pd.Series(dtype="Int64")})
    frames = (pd.DataFrame({"a": pd.Series([i, i + 1], dtype="Int64")}) for i in range(3))
    reader = relations.arrow_output(con, frames, example)
    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.read_all().num_rows == 6
    empty = relations.arrow_output(con, iter(()), example)
    assert empty.read_all().num_rows == 0 and empty.schema.names == ["a"]


@pytest.mark.parametrize(
    ("sql_type", "values"),
    [
        ("varchar", ["09570", "C000042", " padded ", "家具-1"]),
        ("decimal(20,0)", ["12345678901234567890", "7"]),
        ("bigint", ["-9223372036854775808", "42"]),
        ("uuid", ["00000000-0000-0000-0000-000000000007"]),
    ],
)
def test_keys_leave_a_python_model_as_they_came_in(sql_type: str, values: list[str]) -> None:
    """A key crosses into pandas and back out through arrow_output unchanged, typed as the input's."""
    connection = duckdb.connect()
    rows = ", ".join(f"(cast('{v}' as {sql_type}), {i}.5)" for i, v in enumerate(values))
    connection.execute(f"create table f as select * from (values {rows}) as v(customer_id, amount)")
    features = connection.table("f")
    key_type = relations.arrow_type_of(features, "customer_id")
    frames = list(relations.iter_pandas(features, ["customer_id", "amount"]))
    assert frames[0]["amount"].dtype == "float64"
    example = pd.DataFrame({"customer_id": pd.Series(dtype="object"), "amount": pd.Series(dtype="float64")})
    reader = relations.arrow_output(connection, iter(frames), example, {"customer_id": key_type})
    connection.register("out", reader)
    same = connection.execute(
        f"select count(*) from out join f on cast(out.customer_id as {sql_type}) = f.customer_id "
        "and cast(out.customer_id as varchar) = cast(f.customer_id as varchar)"
    ).fetchall()
    assert same == [(len(values),)]
    connection.close()


class FakeSnowpark:
    """Looks like a Snowpark DataFrame: upper-case columns, to_pandas(_batches)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.columns = list(frame.columns)

    def select(self, *names: str) -> FakeSnowpark:
        return FakeSnowpark(self.frame[list(names)])

    def to_pandas(self) -> pd.DataFrame:
        return self.frame.copy()

    def to_pandas_batches(self) -> Iterator[pd.DataFrame]:
        yield self.frame.iloc[:2].copy()
        yield self.frame.iloc[2:].copy()


class FakeSpark:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.columns = list(frame.columns)

    def select(self, *names: str) -> FakeSpark:
        return FakeSpark(self.frame[list(names)])

    def toPandas(self) -> pd.DataFrame:
        return self.frame.copy()


def test_snowpark_upper_case_columns_are_handled() -> None:
    rel = FakeSnowpark(pd.DataFrame({"CUSTOMER_ID": [1, 2, 3], "SPEND": [1.0, 2.0, 3.0], "X": [0, 0, 0]}))
    assert relations.platform(rel) == "snowpark"
    assert relations.columns_of(rel) == ["customer_id", "spend", "x"]
    frame = relations.to_pandas(rel, ["customer_id", "spend"])
    assert list(frame.columns) == ["customer_id", "spend"]
    assert [len(b) for b in relations.iter_pandas(rel, ["spend"])] == [2, 1]


def test_spark_relations_convert_with_topandas() -> None:
    rel = FakeSpark(pd.DataFrame({"customer_id": range(5), "spend": range(5)}))
    assert relations.platform(rel) == "spark"
    assert [len(b) for b in relations.iter_pandas(rel, ["spend"], batch_size=2)] == [2, 2, 1]
    assert relations.arrow_output(object(), iter([rel.toPandas()]), rel.toPandas().iloc[:0]).shape == (5, 2)


def test_unsupported_relation_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="expected a DuckDB relation, a Snowpark DataFrame or a Spark DataFrame"):
        relations.platform([1, 2, 3])
