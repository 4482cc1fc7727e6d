"""The key and type subset of the conformance suite on a real PostgreSQL server.

Each shop goes into a fresh database with PostgreSQL's own types (text, uuid,
timestamptz, numeric, double precision), and dbt builds the feature stage and
data_quality with their tests. Keys must come back with the source's type and
value, RFM must equal the line-by-line computation and every line must be
accounted for, exactly as on DuckDB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.conformance.checks import TYPES_BUILT, check_features, failure_summary, shop_vars
from tests.conformance.shops import TYPE_MATRIX, Shop, Types, expected, varied_shops, write_postgres
from tests.dbt_harness import REPO_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.dbt]

FEATURE_STAGE = ["+customer_features", "+data_quality"]


def _connect(server: Mapping[str, str], database: str) -> Any:
    import psycopg2

    return psycopg2.connect(host=server["PGHOST"], port=int(server["PGPORT"]), user=server["PGUSER"], dbname=database)


def _admin(server: Mapping[str, str], sql: str) -> None:
    con = _connect(server, server["PGDATABASE"])
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(sql)
    finally:
        con.close()


def _build(server: Mapping[str, str], shop: Shop, database: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    import yaml

    profile = {
        "type": "postgres",
        "host": server["PGHOST"],
        "port": int(server["PGPORT"]),
        "user": server["PGUSER"],
        "password": "",
        "dbname": database,
        "schema": "segments",
        "threads": 2,
    }
    (workdir / "profiles.yml").write_text(
        yaml.safe_dump({"segments": {"target": "postgres", "outputs": {"postgres": profile}}})
    )
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(workdir),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = str(Path(sys.executable).with_name("dbt"))
    args = [dbt, "build", "--target", "postgres", "--select", *FEATURE_STAGE, "--indirect-selection", "cautious"]
    args += ["--vars", json.dumps(shop_vars(shop))]
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)


def _key_reader(shop: Shop) -> Callable[[Any], Any]:
    """psycopg2 hands uuid columns back as text."""
    return str if shop.types.customer_id == "UUID" else (lambda value: value)


POSTGRES_BUILD = settings(
    max_examples=1,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
)


@pytest.mark.parametrize("types", TYPE_MATRIX, ids=lambda t: f"{t.customer_id}-{t.ordered_at}-{t.unit_price}")
def test_conforming_shops_keep_keys_types_and_lines_on_postgres(
    types: Types, postgres_server: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """One drawn shop per row of the type matrix, in PostgreSQL's own types."""

    @POSTGRES_BUILD
    @given(varied_shops(types))
    def build_and_check(shop: Shop) -> None:
        _build_and_check(shop, postgres_server, tmp_path_factory.mktemp("pg-conformance"))

    build_and_check()


def _build_and_check(shop: Shop, postgres_server: dict[str, str], workdir: Path) -> None:
    TYPES_BUILT.append(shop.types)
    database = f"segments_conformance_{uuid.uuid4().hex[:8]}"
    _admin(postgres_server, f'create database "{database}"')
    try:
        con = _connect(postgres_server, database)
        try:
            write_postgres(shop, con)
        finally:
            con.close()
        result = _build(postgres_server, shop, database, workdir)
        assert result.returncode == 0, failure_summary(result.stdout + result.stderr)
        con = _connect(postgres_server, database)
        try:

            def query(sql: str) -> list[tuple[Any, ...]]:
                with con.cursor() as cur:
                    cur.execute(sql)
                    return list(cur.fetchall())

            check_features(shop, expected(shop), query, key_of=_key_reader(shop), schema="segments")
            types = query(
                "select table_name, data_type from information_schema.columns "
                "where column_name = 'customer_id' and table_schema in ('raw', 'segments') "
                "and table_name in ('order_lines', 'customer_features', 'customer_rfm')"
            )
        finally:
            con.close()
        assert len({data_type for _, data_type in types}) == 1, types
    finally:
        _admin(postgres_server, f'drop database if exists "{database}" with (force)')
