"""The key and type subset of the conformance suite on a real PostgreSQL server.

Each shop goes into a fresh database with PostgreSQL's own types (text, uuid,
timestamptz, numeric, double precision), and dbt builds the feature stage and
data_quality with their tests. Keys must come back with the source's type and
value, RFM must equal the line-by-line computation and every line must be
accounted for, exactly as on DuckDB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.conformance.checks import TYPES_BUILT, check_features, shop_vars
from tests.conformance.shops import TYPE_MATRIX, Shop, Types, expected, varied_shops, write_postgres
from tests.dbt_harness import REPO_ROOT, failure_summary
from tests.portability.engines import PostgresEngine, engine_env

pytestmark = [pytest.mark.postgres, pytest.mark.dbt]

FEATURE_STAGE = ["+customer_features", "+data_quality"]


def _build(engine: PostgresEngine, shop: Shop, workdir: Path) -> subprocess.CompletedProcess[str]:
    dbt = str(Path(sys.executable).with_name("dbt"))
    args = [dbt, "build", "--target", engine.target, "--select", *FEATURE_STAGE, "--indirect-selection", "cautious"]
    args += ["--vars", json.dumps(shop_vars(shop))]
    env = engine_env(engine, workdir)
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
    engine = PostgresEngine(postgres_server, f"segments_conformance_{uuid.uuid4().hex[:8]}")
    engine.create_database()
    try:
        con = engine.connect()
        try:
            write_postgres(shop, con, schema="raw")
            result = _build(engine, shop, workdir)
            assert result.returncode == 0, failure_summary(result.stdout + result.stderr)

            def query(sql: str) -> list[tuple[Any, ...]]:
                with con.cursor() as cur:
                    cur.execute(sql)
                    return list(cur.fetchall())

            check_features(shop, expected(shop), query, key_of=_key_reader(shop), schema=engine.schema)
            types = query(
                "select table_name, data_type from information_schema.columns "
                f"where column_name = 'customer_id' and table_schema in ('raw', '{engine.schema}') "
                "and table_name in ('order_lines', 'customer_features', 'customer_rfm')"
            )
        finally:
            con.close()
        assert len(types) == 3 and len({data_type for _, data_type in types}) == 1, types
    finally:
        engine.drop_database()
