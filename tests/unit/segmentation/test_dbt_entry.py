"""The dbt model bodies against an in-memory DuckDB, with a stand-in for dbt's object."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from segmentation.config import ConfigError
from segmentation.dbt_entry import build_assignments, build_catalog, build_model_versions, build_profiles
from tests.unit.segmentation.conftest import value_customers, value_settings


@dataclass
class This:
    identifier: str

    def __repr__(self) -> str:
        return f"main.{self.identifier}"


class FakeDbt:
    """What the compiled Python model hands over: ``this`` and ``is_incremental``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, identifier: str) -> None:
        self.this = This(identifier)
        self.is_incremental = bool(
            con.execute("select count(*) from information_schema.tables where table_name = ?", [identifier]).fetchall()[
                0
            ][0]
        )


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    features = value_customers(3000, seed=4).drop(columns=["truth"])
    features["as_of_date"] = features["as_of_date"].dt.date
    connection.register("features_df", features)
    connection.execute("create table customer_features as select * from features_df")
    yield connection
    connection.close()


def _materialise(con: duckdb.DuckDBPyConnection, name: str, result: Any, append: bool = False) -> None:
    """Write a model result the way dbt-duckdb does: on a separate cursor, so a streamed
    Arrow result can keep reading its inputs from the model's connection."""
    cursor = con.cursor()
    cursor.register("result_df", result)
    if append:
        cursor.execute(f"insert into {name} select * from result_df")
    else:
        cursor.execute(f"create or replace table {name} as select * from result_df")
    cursor.unregister("result_df")
    cursor.close()


def _run_models(
    con: duckdb.DuckDBPyConnection, refit: Any = False, settings: dict[str, Any] | None = None
) -> pd.DataFrame:
    dbt = FakeDbt(con, "segment_model_value")
    out = build_model_versions(dbt, con, con.table("customer_features"), settings or value_settings(), {}, refit)
    _materialise(con, "segment_model_value", out, append=dbt.is_incremental)
    return out


def test_model_history_grows_only_when_a_fit_is_needed(con: duckdb.DuckDBPyConnection) -> None:
    first = _run_models(con)
    assert len(first) == 1 and first.loc[0, "model_version"] == 1 and first.loc[0, "fit_reason"] == "initial fit"
    assert first.loc[0, "n_customers"] == 3000
    assert str(first.loc[0, "training_as_of_date"])[:10] == "2026-11-01"
    assert len(_run_models(con)) == 0  # reused
    again = _run_models(con, refit="true")
    assert again.loc[0, "model_version"] == 2 and again.loc[0, "fit_reason"] == "refit requested"
    assert con.execute("select count(*) from segment_model_value").fetchall() == [(2,)]


def test_assignments_profiles_and_catalog(con: duckdb.DuckDBPyConnection) -> None:
    _run_models(con)
    reader = build_assignments(None, con, con.table("customer_features"), con.table("segment_model_value"), "value")
    assert isinstance(reader, pa.RecordBatchReader)
    _materialise(con, "segment_assignments_value", reader)
    count, customers, low, high = con.execute(
        "select count(*), count(distinct customer_id), min(confidence), max(confidence) from segment_assignments_value"
    ).fetchall()[0]
    assert count == customers == 3000 and 0 <= low <= high <= 1

    profiles = build_profiles(
        None,
        con,
        con.table("customer_features"),
        con.table("segment_assignments_value"),
        con.table("segment_model_value"),
        "value",
    )
    assert profiles["size"].sum() == 3000
    assert profiles["share"].sum() == pytest.approx(1.0)
    assert set(profiles["segment_id"]) == set(
        r[0] for r in con.execute("select distinct segment_id from segment_assignments_value").fetchall()
    )

    catalog = build_catalog(None, con, con.table("segment_model_value"))
    assert sorted(catalog["segment_id"]) == sorted(profiles["segment_id"])
    assert catalog["is_latest_version"].all()


def test_view_without_inputs_is_skipped_with_empty_typed_tables(con: duckdb.DuckDBPyConnection) -> None:
    settings = value_settings(view="behavioral", features=["cat_share__*"], log_features=[])
    dbt = FakeDbt(con, "segment_model_behavioral")
    out = build_model_versions(dbt, con, con.table("customer_features"), settings, {}, False)
    assert len(out) == 0 and "parameters" in out.columns
    _materialise(con, "segment_model_behavioral", out)
    reader = build_assignments(
        None, con, con.table("customer_features"), con.table("segment_model_behavioral"), "behavioral"
    )
    table = reader.read_all()
    assert table.num_rows == 0 and "segment_id" in table.schema.names


def test_bad_config_names_the_model(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ConfigError, match=r"main\.segment_model_value: view 'value': unknown setting"):
        build_model_versions(
            FakeDbt(con, "segment_model_value"), con, con.table("customer_features"), value_settings(colour="red"), {}
        )


def test_overrides_var_changes_the_fit(con: duckdb.DuckDBPyConnection) -> None:
    dbt = FakeDbt(con, "segment_model_value")
    out = build_model_versions(dbt, con, con.table("customer_features"), value_settings(), {"value": {"k": 3}}, False)
    assert out.loc[0, "k"] == 3


def test_view_whose_columns_are_empty_or_constant_is_skipped(con: duckdb.DuckDBPyConnection) -> None:
    # what customer_features looks like without a products table
    con.execute("alter table customer_features add column category_breadth integer")
    con.execute("alter table customer_features add column discount_share double default 0")
    settings = value_settings(
        view="behavioral", features=["cat_share__*", "category_breadth", "discount_share"], log_features=[]
    )
    out = build_model_versions(FakeDbt(con, "segment_model_behavioral"), con, con.table("customer_features"), settings)
    assert len(out) == 0
