"""Driving the project on PostgreSQL and Spark the way a user would, for the tests.

Every step is what a user runs: load raw tables, ``dbt run`` the features,
``segments fit`` through the dbt target, ``dbt build``. Between the fit and the build
the DuckDB reference model (fitted by the dbt Python model) is appended as the
newest version, so every engine scores customers from the same stored JSON and the
comparison is exact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

from segmentation.model_store import MODEL_COLUMNS
from tests.conftest import REPO_ROOT

VIEWS = ("value", "behavioral", "channel")
COMPARED_TABLES = ("customer_features", "segment_assignments", "customer_segments", "segment_models")
REFERENCE_REASON = "copied from the DuckDB reference build"
TIMINGS: dict[str, dict[str, float]] = {}  # engine -> step -> seconds, printed at the end of the run


@dataclass(frozen=True)
class Reference:
    """What the DuckDB build (dbt Python models) produced."""

    path: Path
    features: pd.DataFrame
    assignments: pd.DataFrame
    customer_segments: pd.DataFrame
    models: dict[str, list[dict[str, Any]]]


def read_reference(path: Path) -> Reference:
    con = duckdb.connect(str(path), read_only=True)
    try:
        models = {
            view: con.execute(f"select * from main.segments__model_{view} order by model_version")
            .df()
            .to_dict("records")
            for view in VIEWS
        }
        return Reference(
            path=path,
            features=con.execute("select * from main.customer_features").df(),
            assignments=con.execute("select * from main.segment_assignments").df(),
            customer_segments=con.execute("select * from main.customer_segments").df(),
            models=models,
        )
    finally:
        con.close()


def parse_exports(text: str) -> dict[str, str]:
    """``export NAME=value`` lines (scripts/postgres.sh output) as a dict."""
    out = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            out[key] = value
    return out


@dataclass
class EngineBuild:
    """The outcome of the whole flow on one engine."""

    name: str
    fit_output: str
    build_ok: bool
    build_output: str
    fitted: dict[str, list[dict[str, Any]]]
    tables: dict[str, pd.DataFrame]
    seconds: dict[str, float] = field(default_factory=dict)


class Engine(Protocol):
    name: str
    target: str

    def profile(self) -> dict[str, Any]: ...
    def load_raw(self, duckdb_path: Path) -> None: ...
    def store_rows(self, view: str) -> list[dict[str, Any]]: ...
    def append_models(self, view: str, rows: Sequence[Mapping[str, Any]]) -> None: ...
    def export(self, tables: Sequence[str]) -> dict[str, pd.DataFrame]: ...


def _run(args: Sequence[str], env: Mapping[str, str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)


def engine_env(engine: Engine, workdir: Path) -> dict[str, str]:
    """The environment that points dbt (and `segments fit`) at ``engine``: a profiles.yml in ``workdir``."""
    import yaml

    profiles_dir = workdir / "profiles"
    profiles_dir.mkdir(parents=True, exist_ok=True)
    (profiles_dir / "profiles.yml").write_text(
        yaml.safe_dump({"segments": {"target": engine.target, "outputs": {engine.target: engine.profile()}}})
    )
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(profiles_dir),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def build_engine(engine: Engine, duckdb_path: Path, reference: Reference, workdir: Path) -> EngineBuild:
    """Load, build features, fit, append the reference model, dbt build, read back."""
    env = engine_env(engine, workdir)
    dbt = str(Path(sys.executable).with_name("dbt"))
    seconds: dict[str, float] = {}

    def timed(step: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        start = time.perf_counter()
        result = _run(args, env)
        seconds[step] = round(time.perf_counter() - start, 1)
        return result

    start = time.perf_counter()
    engine.load_raw(duckdb_path)
    seconds["load"] = round(time.perf_counter() - start, 1)

    features = timed(
        "features",
        [
            dbt,
            "build",
            "--select",
            "+customer_features",
            "--resource-type",
            "seed",
            "--resource-type",
            "model",
            "--target",
            engine.target,
        ],
    )
    assert features.returncode == 0, features.stdout + features.stderr

    fit = timed(
        "fit",
        [sys.executable, "-m", "segmentation.fit_cli", "--project-dir", str(REPO_ROOT), "--target", engine.target],
    )
    assert fit.returncode == 0, fit.stdout + fit.stderr

    fitted = {view: engine.store_rows(view) for view in VIEWS}
    for view in VIEWS:
        next_version = max((int(r["model_version"]) for r in fitted[view]), default=0) + 1
        copies = []
        for row in reference.models[view][-1:]:
            copy = dict(row)
            copy["model_version"] = next_version
            copy["fit_reason"] = REFERENCE_REASON
            copies.append(copy)
        engine.append_models(view, copies)

    build = timed("build", [dbt, "build", "--target", engine.target])
    tables = engine.export(COMPARED_TABLES) if build.returncode == 0 else {}
    TIMINGS[engine.name] = seconds
    return EngineBuild(
        name=engine.name,
        fit_output=fit.stdout + fit.stderr,
        build_ok=build.returncode == 0,
        build_output=build.stdout + build.stderr,
        fitted=fitted,
        tables=tables,
        seconds=seconds,
    )


def model_values(row: Mapping[str, Any]) -> list[Any]:
    """A model row as plain values in MODEL_COLUMNS order (for inserts)."""
    out = []
    for name in MODEL_COLUMNS:
        value = row.get(name)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            out.append(None)
        elif isinstance(value, pd.Timestamp):
            out.append(value.to_pydatetime())
        elif hasattr(value, "item"):
            out.append(value.item())
        else:
            out.append(value)
    return out


# ---------------------------------------------------------------------- PostgreSQL


class PostgresEngine:
    name = "postgres"
    target = "postgres"
    schema = "segments"

    def __init__(self, server: Mapping[str, str], database: str) -> None:
        self.server = dict(server)
        self.database = database

    def connect(self, database: str | None = None) -> Any:
        import psycopg2

        return psycopg2.connect(
            host=self.server["PGHOST"],
            port=int(self.server["PGPORT"]),
            user=self.server["PGUSER"],
            dbname=database or self.database,
        )

    def create_database(self) -> None:
        con = self.connect(self.server["PGDATABASE"])
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'create database "{self.database}"')
        con.close()

    def drop_database(self) -> None:
        con = self.connect(self.server["PGDATABASE"])
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'drop database if exists "{self.database}" with (force)')
        con.close()

    def profile(self) -> dict[str, Any]:
        return {
            "type": "postgres",
            "host": self.server["PGHOST"],
            "port": int(self.server["PGPORT"]),
            "user": self.server["PGUSER"],
            "password": "",
            "dbname": self.database,
            "schema": self.schema,
            "threads": 2,
        }

    def load_raw(self, duckdb_path: Path) -> None:
        from tests.portability.load_demo import load_postgres

        load_postgres(
            duckdb_path,
            {
                "host": self.server["PGHOST"],
                "port": int(self.server["PGPORT"]),
                "user": self.server["PGUSER"],
                "dbname": self.database,
            },
        )

    def query(self, sql: str) -> pd.DataFrame:
        con = self.connect()
        try:
            with con.cursor() as cur:
                cur.execute(sql)
                names = [d[0] for d in cur.description or []]
                return pd.DataFrame(cur.fetchall(), columns=names)
        finally:
            con.close()

    def store_rows(self, view: str) -> list[dict[str, Any]]:
        frame = self.query(f"select * from {self.schema}.segments__model_sql_{view} order by model_version")
        return frame.to_dict("records")

    def append_models(self, view: str, rows: Sequence[Mapping[str, Any]]) -> None:
        names = ", ".join(MODEL_COLUMNS)
        marks = ", ".join(["%s"] * len(MODEL_COLUMNS))
        con = self.connect()
        try:
            with con.cursor() as cur:
                for row in rows:
                    cur.execute(
                        f"insert into {self.schema}.segments__model_sql_{view} ({names}) values ({marks})",
                        model_values(row),
                    )
            con.commit()
        finally:
            con.close()

    def export(self, tables: Sequence[str]) -> dict[str, pd.DataFrame]:
        return {t: self.query(f"select * from {self.schema}.{t}") for t in tables}


# --------------------------------------------------------------------------- Spark


class SparkEngine:
    """A local Spark session (dbt-spark ``method: session``) with a Derby metastore in ``home``.

    Derby lets one JVM at a time open the metastore, so everything that touches Spark
    (loading, exporting, appending models) runs in a subprocess, one after the other.
    """

    name = "spark"
    target = "spark"
    schema = "segments"

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    def conf(self) -> dict[str, str]:
        return spark_conf(self.home)

    def profile(self) -> dict[str, Any]:
        return {
            "type": "spark",
            "method": "session",
            "host": "localhost",
            "schema": self.schema,
            "threads": 1,
            "server_side_parameters": self.conf(),
        }

    def _task(self, *args: str) -> str:
        result = _run(
            [sys.executable, "-m", "tests.portability.spark_tasks", "--home", str(self.home), *args],
            os.environ,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def load_raw(self, duckdb_path: Path) -> None:
        args = [f"--conf={k}={v}" for k, v in self.conf().items()]
        result = _run(
            [sys.executable, "-m", "tests.portability.load_demo", "spark", "--duckdb", str(duckdb_path), *args],
            os.environ,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def export(self, tables: Sequence[str]) -> dict[str, pd.DataFrame]:
        out = self.home / "export"
        self._task("export", "--out", str(out), *[f"{self.schema}.{t}" for t in tables])
        return {t: pd.read_parquet(out / f"{self.schema}.{t}") for t in tables}

    def store_rows(self, view: str) -> list[dict[str, Any]]:
        table = f"segments__model_sql_{view}"
        frame = self.export([table])[table]
        return frame.sort_values("model_version").to_dict("records")

    def append_models(self, view: str, rows: Sequence[Mapping[str, Any]]) -> None:
        payload = self.home / f"models_{view}.json"
        payload.write_text(json.dumps([model_values(r) for r in rows], default=str))
        self._task("append-models", "--table", f"{self.schema}.segments__model_sql_{view}", "--rows", str(payload))


def spark_conf(home: Path) -> dict[str, str]:
    """Session settings that put the catalog and warehouse in ``home`` (shared by processes)."""
    return {
        "spark.master": "local[2]",
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        "spark.driver.memory": "4g",
    }
