"""Copy demo raw tables from a DuckDB file into PostgreSQL or a Spark session.

The demo generator writes DuckDB; the portability tests (and anyone trying the
project on Postgres or Spark) need the same rows in the other engine. DuckDB's own
postgres extension is downloaded at run time, which an offline machine cannot do, so
Postgres is loaded with ``COPY ... FROM STDIN`` through psycopg2 from a CSV that
DuckDB writes, and Spark from Parquet files DuckDB writes. Types are mapped
explicitly, so a DECIMAL stays exact and a TIMESTAMP stays a timestamp without time
zone (Spark: a TIMESTAMP in a session whose time zone is UTC).

    python -m tests.portability.load_demo postgres --duckdb .data/segments.duckdb
    python -m tests.portability.load_demo spark --duckdb .data/segments.duckdb \
        --conf spark.sql.warehouse.dir=/tmp/spark-warehouse ...

Postgres connection settings come from the usual PG* environment variables
(scripts/postgres.sh env prints them).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")

_POSTGRES_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "smallint",
    "BOOLEAN": "boolean",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "VARCHAR": "text",
}

_SPARK_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "BOOLEAN": "boolean",
    "DOUBLE": "double",
    "FLOAT": "float",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "VARCHAR": "string",
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _target_type(duckdb_type: str, mapping: Mapping[str, str], table: str, column: str) -> str:
    match = _DECIMAL.match(duckdb_type)
    if match:
        return f"decimal({match.group(1)},{match.group(2)})"
    if duckdb_type not in mapping:
        raise ValueError(f"table {table}, column {column}: DuckDB type {duckdb_type} has no mapping")
    return mapping[duckdb_type]


def duckdb_tables(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple[str, str]]]:
    """{table: [(column, DuckDB type)]} of the base tables in ``schema``."""
    names = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
            [schema],
        ).fetchall()
    ]
    out: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        rows = con.execute(f"describe {_quote(schema)}.{_quote(name)}").fetchall()
        out[name] = [(str(r[0]), str(r[1])) for r in rows]
    return out


def load_postgres(
    duckdb_path: Path, connect_kwargs: Mapping[str, Any] | None = None, schema: str = "raw"
) -> dict[str, int]:
    """Replace ``schema`` in Postgres with the DuckDB file's tables; rows per table."""
    import psycopg2

    counts: dict[str, int] = {}
    source = duckdb.connect(str(duckdb_path), read_only=True)
    target = psycopg2.connect(**dict(connect_kwargs or {}))
    try:
        tables = duckdb_tables(source, schema)
        if not tables:
            raise ValueError(f"{duckdb_path}: schema {schema!r} has no tables (generate demo data first)")
        with target.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
            cur.execute(f"drop schema if exists {_quote(schema)} cascade")
            cur.execute(f"create schema {_quote(schema)}")
            for table, columns in tables.items():
                ddl = ", ".join(f"{_quote(c)} {_target_type(t, _POSTGRES_TYPES, table, c)}" for c, t in columns)
                cur.execute(f"create table {_quote(schema)}.{_quote(table)} ({ddl})")
                csv_path = Path(tmp) / f"{table}.csv"
                source.execute(
                    f"copy (select * from {_quote(schema)}.{_quote(table)}) to '{csv_path}' (header, delimiter ',')"
                )
                with csv_path.open(encoding="utf-8") as handle:
                    cur.copy_expert(
                        f"copy {_quote(schema)}.{_quote(table)} from stdin with (format csv, header true)",
                        handle,
                    )
                counts[table] = cur.rowcount
            cur.execute("analyze")
        target.commit()
    finally:
        target.close()
        source.close()
    return counts


def spark_session(conf: Mapping[str, str]) -> Any:
    """A Hive-enabled local Spark session with ``conf`` (as dbt-spark's session method builds it)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def load_spark(duckdb_path: Path, spark: Any, schema: str = "raw") -> dict[str, int]:
    """Replace database ``schema`` in the Spark catalog with the DuckDB file's tables."""
    counts: dict[str, int] = {}
    source = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        tables = duckdb_tables(source, schema)
        if not tables:
            raise ValueError(f"{duckdb_path}: schema {schema!r} has no tables (generate demo data first)")
        spark.sql(f"drop database if exists {schema} cascade")
        spark.sql(f"create database {schema}")
        with tempfile.TemporaryDirectory() as tmp:
            for table, columns in tables.items():
                parquet = Path(tmp) / f"{table}.parquet"
                source.execute(f"copy (select * from {_quote(schema)}.{_quote(table)}) to '{parquet}' (format parquet)")
                frame = spark.read.parquet(str(parquet))
                casts = ", ".join(
                    f"cast(`{c}` as {_target_type(t, _SPARK_TYPES, table, c)}) as `{c}`" for c, t in columns
                )
                frame.createOrReplaceTempView("segments_load_demo")
                spark.sql(f"create table {schema}.{table} using parquet as select {casts} from segments_load_demo")
                counts[table] = int(spark.table(f"{schema}.{table}").count())
            spark.catalog.dropTempView("segments_load_demo")
    finally:
        source.close()
    return counts


def _conf_pairs(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--conf expects key=value, got {item!r}")
        out[key] = value
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine", choices=["postgres", "spark"])
    parser.add_argument("--duckdb", required=True, type=Path, help="DuckDB file with the raw schema")
    parser.add_argument("--schema", default="raw")
    parser.add_argument("--conf", action="append", default=[], help="Spark setting key=value (repeat)")
    args = parser.parse_args(argv)
    if args.engine == "postgres":
        counts = load_postgres(args.duckdb, None, args.schema)
    else:
        counts = load_spark(args.duckdb, spark_session(_conf_pairs(args.conf)), args.schema)
    for table, rows in counts.items():
        print(f"{args.schema}.{table}: {rows} rows")


if __name__ == "__main__":
    main()
