"""The sync on a real PostgreSQL server, through dbt-postgres (the generic adapter path).

Runs when ``SEGMENTS_TEST_POSTGRES=1`` (``make test`` sets it and the server comes
from ``scripts/postgres.sh``); skipped otherwise, like the project's other
server-backed tests. The segments and triggers tables and the ledger all live
in Postgres; the CRMs are the usual fakes.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.cli import EXIT_OK
from sync.config import Relation
from sync.profiles import ResolvedTarget
from sync.warehouse import DbtAdapterWarehouse
from tests.sync.checks import (
    assert_campaign_members,
    assert_hubspot_matches,
    assert_list_members,
    assert_salesforce_matches,
    seed_all,
)
from tests.sync.conftest import REPO_ROOT, Crm, segment_row, trigger_rows, write_config
from tests.sync.test_end_to_end import run_cli

CUSTOMERS = 120


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    if os.environ.get("SEGMENTS_TEST_POSTGRES") != "1":
        pytest.skip("set SEGMENTS_TEST_POSTGRES=1 (or run `make test`) to sync from PostgreSQL")
    script = REPO_ROOT / "scripts" / "postgres.sh"
    env = {**os.environ, "SEGMENTS_PG_DIR": os.environ.get("SEGMENTS_PG_DIR", f"/tmp/segments-pg-test-{os.getuid()}")}
    was_running = subprocess.run([str(script), "status"], env=env, check=False).returncode == 0
    started = subprocess.run([str(script), "start"], env=env, capture_output=True, text=True, check=False)
    if started.returncode != 0:
        pytest.fail(f"scripts/postgres.sh start failed:\n{started.stdout}\n{started.stderr}")
    settings = {}
    for line in started.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            settings[key] = value
    yield settings
    if not was_running:
        subprocess.run([str(script), "stop"], env=env, check=False)


class PgWarehouse:
    """The subset of the DuckDB fixture the checks use, over a Postgres database."""

    def __init__(self, server: dict[str, str], database: str) -> None:
        self.server = server
        self.database = database
        self.path = Path("/nonexistent.duckdb")  # write_config writes a DuckDB profile we replace

    def connect(self, database: str | None = None) -> Any:
        import psycopg2

        return psycopg2.connect(
            host=self.server["PGHOST"],
            port=int(self.server["PGPORT"]),
            user=self.server["PGUSER"],
            dbname=database or self.database,
        )

    def _fetch(self, sql: str) -> list[dict[str, Any]]:
        con = self.connect()
        try:
            with con.cursor() as cur:
                cur.execute(sql)
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            con.close()

    def rows(self) -> list[dict[str, Any]]:
        return self._fetch("select * from main.customer_segments order by customer_id")

    def triggers(self) -> list[dict[str, Any]]:
        return self._fetch("select * from main.journey_triggers")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) for r in self._fetch(sql)]

    def write_segments(self, rows: list[dict[str, Any]]) -> None:
        con = self.connect()
        try:
            with con.cursor() as cur:
                cur.execute("delete from main.customer_segments")
                cols = list(rows[0])
                cur.executemany(
                    f"insert into main.customer_segments ({', '.join(cols)}) values ({', '.join(['%s'] * len(cols))})",
                    [tuple(r[c] for c in cols) for r in rows],
                )
            con.commit()
        finally:
            con.close()


@pytest.fixture
def pg_warehouse(postgres: dict[str, str]) -> Iterator[PgWarehouse]:
    database = f"sync_test_{uuid.uuid4().hex[:8]}"
    admin = PgWarehouse(postgres, postgres["PGDATABASE"]).connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{database}"')
    wh = PgWarehouse(postgres, database)
    con = wh.connect()
    with con.cursor() as cur:
        cur.execute(
            """
            create schema main;
            create table main.customer_segments (
                customer_id bigint, email varchar, value_segment_id int, value_segment varchar,
                value_confidence double precision, behavioral_segment_id int, behavioral_segment varchar,
                behavioral_confidence double precision, channel_segment_id int, channel_segment varchar,
                channel_confidence double precision, rfm_segment varchar, value_previous_segment varchar,
                value_segment_since date, as_of_date date);
            create table main.journey_triggers (
                trigger_id varchar, customer_id bigint, email varchar, journey varchar,
                triggered_on date, reason varchar, is_control boolean);
            """
        )
        cur.executemany(
            "insert into main.journey_triggers values (%s, %s, %s, %s, %s, %s, %s)", trigger_rows(CUSTOMERS)
        )
    con.commit()
    con.close()
    wh.write_segments([segment_row(i) for i in range(1, CUSTOMERS + 1)])
    yield wh
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{database}" with (force)')
    admin.close()


def test_sync_from_postgres(tmp_path: Path, pg_warehouse: PgWarehouse, crm: Crm) -> None:
    seed_all(crm)
    server = pg_warehouse.server
    config = write_config(tmp_path, pg_warehouse, crm)  # type: ignore[arg-type]
    (tmp_path / "profiles.yml").write_text(
        textwrap.dedent(f"""\
        segments:
          target: pg
          outputs:
            pg:
              type: postgres
              host: {server["PGHOST"]}
              port: {server["PGPORT"]}
              user: {server["PGUSER"]}
              password: ""
              dbname: {pg_warehouse.database}
              schema: main
              threads: 1
        """)
    )
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    wh: Any = pg_warehouse
    assert_salesforce_matches(wh, crm)
    assert_hubspot_matches(wh, crm)
    assert_campaign_members(wh, crm)
    assert_list_members(wh, crm)
    rows = [segment_row(i, version=1 if i % 10 == 0 else 0) for i in range(1, CUSTOMERS + 1)]
    pg_warehouse.write_segments(rows)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    runs = pg_warehouse.query(
        "select destination, n_updated, n_unchanged from segments_sync.sync_runs order by started_at desc limit 2"
    )
    assert sorted(runs) == [("hubspot", 12, 108), ("salesforce", 12, 108)]
    assert_salesforce_matches(wh, crm)
    assert_hubspot_matches(wh, crm)


def test_a_failed_probe_leaves_the_connection_usable(pg_warehouse: PgWarehouse) -> None:
    """PostgreSQL refuses every statement after an error until the transaction is rolled back."""
    server = pg_warehouse.server
    target = ResolvedTarget(
        profile="segments",
        target="pg",
        adapter_type="postgres",
        settings={
            "host": server["PGHOST"],
            "port": int(server["PGPORT"]),
            "user": server["PGUSER"],
            "password": "",
            "dbname": pg_warehouse.database,
            "schema": "main",
        },
        profiles_path=Path("profiles.yml"),
        project_dir=REPO_ROOT,
    )
    warehouse = DbtAdapterWarehouse(target)
    try:
        assert not warehouse.exists(Relation(("main", "no_such_table")))
        assert warehouse.exists(Relation(("main", "customer_segments")))
        assert warehouse.query("select count(*) as n from main.customer_segments") == [{"n": CUSTOMERS}]
        batches = list(warehouse.stream("select customer_id from main.customer_segments order by 1", 50))
        assert [len(batch) for batch in batches] == [50, 50, 20]
    finally:
        warehouse.close()
