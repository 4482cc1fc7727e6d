"""Reading the warehouse through the dbt profile: DuckDB natively, others via dbt adapters."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from sync.cli import EXIT_CONFIG, EXIT_OK
from sync.config import Relation, WarehouseConfig, parse_relation
from sync.errors import ConfigError, WarehouseError
from sync.ledger import Ledger, Outcome
from sync.profiles import resolve_target
from sync.warehouse import DbtAdapterWarehouse, DuckDBWarehouse, TableColumn, open_warehouse
from tests.sync.checks import assert_everything_synced, seed_all
from tests.sync.conftest import Crm, Warehouse, write_config
from tests.sync.test_end_to_end import run_cli

PROFILE = """\
segments:
  target: "{{ env_var('SYNC_T_TARGET', 'local') }}"
  outputs:
    local:
      type: duckdb
      path: "{{ env_var('SYNC_T_PATH', 'data/segments.duckdb') }}"
      threads: "{{ env_var('SYNC_T_THREADS', '4') | int }}"
    other:
      type: snowflake
      account: "{{ env_var('SNOWFLAKE_ACCOUNT') }}"
      password: "{{ env_var('SYNC_T_SF_PASSWORD') }}"
"""


def test_profile_from_project_dir_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\nprofile: segments\n")
    (tmp_path / "profiles.yml").write_text(PROFILE)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("SYNC_T_PATH", raising=False)
    target = resolve_target(WarehouseConfig(project_dir=str(tmp_path)))
    assert (target.profile, target.target, target.adapter_type) == ("segments", "local", "duckdb")
    assert target.settings["path"] == "data/segments.duckdb"
    assert target.settings["threads"] == 4
    # Unset variables of *other* targets do not matter; env_var() is honoured.
    monkeypatch.setenv("SYNC_T_PATH", str(tmp_path / "x.duckdb"))
    target = resolve_target(WarehouseConfig(project_dir=str(tmp_path)))
    assert target.settings["path"] == str(tmp_path / "x.duckdb")
    # DBT_PROFILES_DIR wins over the project directory.
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "profiles.yml").write_text(PROFILE.replace("local:", "local2:").replace("'local'", "'local2'"))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(other))
    assert resolve_target(WarehouseConfig(project_dir=str(tmp_path))).target == "local2"


def test_profile_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(ConfigError, match="no dbt profile name"):
        resolve_target(WarehouseConfig(project_dir=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"no dbt profiles\.yml found"):
        resolve_target(WarehouseConfig(project_dir=str(tmp_path), profile="segments"))
    (tmp_path / "profiles.yml").write_text(PROFILE)
    with pytest.raises(ConfigError, match="no profile named 'nope'"):
        resolve_target(WarehouseConfig(project_dir=str(tmp_path), profile="nope"))
    with pytest.raises(ConfigError, match="no target 'prod'"):
        resolve_target(WarehouseConfig(project_dir=str(tmp_path), profile="segments", target="prod"))
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT", raising=False)
    with pytest.raises(ConfigError, match="env_var\\('SNOWFLAKE_ACCOUNT'\\)"):
        resolve_target(WarehouseConfig(project_dir=str(tmp_path), profile="segments", target="other"))


def test_profile_secrets_are_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sync.secrets import redact

    (tmp_path / "profiles.yml").write_text(PROFILE)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)  # make exports it; this test reads tmp_path's profile
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "acme")
    monkeypatch.setenv("SYNC_T_SF_PASSWORD", "warehouse-pass-123")
    resolve_target(WarehouseConfig(project_dir=str(tmp_path), profile="segments", target="other"))
    assert redact("login with warehouse-pass-123") == "login with ***"


def test_duckdb_streams_in_chunks(tmp_path: Path, warehouse: Warehouse) -> None:
    wh = DuckDBWarehouse(warehouse.path, read_only=True)
    try:
        chunks = list(wh.stream("SELECT * FROM main.customer_segments", 25))
        assert [len(c) for c in chunks] == [25, 25, 10]
        assert chunks[0][0]["email"].startswith("Customer")
        with pytest.raises(WarehouseError, match=r"main\.nope not found"):
            wh.columns(Relation(("main", "nope")))
    finally:
        wh.close()


def test_missing_column_names_table_and_column(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    con = warehouse.connect()
    con.execute("ALTER TABLE main.customer_segments DROP COLUMN rfm_segment")
    con.close()
    config = write_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "plan")
    assert code == EXIT_CONFIG
    assert "main.customer_segments is missing column(s): rfm_segment" in out
    assert "field RFM_Segment__c" in out


def test_sync_through_the_dbt_adapter(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    """The generic path (dbt ConnectionManager + DB-API), exercised with dbt-duckdb."""
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm)
    text = config.read_text().replace("  chunk_rows: 1000\n", "  chunk_rows: 1000\n  method: dbt\n")
    config.write_text(text)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert_everything_synced(warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    rows = warehouse.query(
        "SELECT destination, n_unchanged FROM segments_sync.sync_runs ORDER BY started_at DESC LIMIT 2"
    )
    assert sorted(rows) == [("hubspot", 60), ("salesforce", 60)]


def test_dbt_adapter_warehouse_writes(tmp_path: Path, warehouse: Warehouse) -> None:
    (tmp_path / "profiles.yml").write_text(
        textwrap.dedent(f"""\
        p:
          target: t
          outputs:
            t: {{type: duckdb, path: "{warehouse.path}"}}
        """)
    )
    wcfg = WarehouseConfig(profile="p", profiles_dir=str(tmp_path), method="dbt")
    wh = open_warehouse(wcfg)
    assert isinstance(wh, DbtAdapterWarehouse)
    try:
        ledger = Ledger(wh, "ledger_test")
        ledger.ensure()
        run_id = ledger.start_run("d")
        outcomes = [Outcome("contact", f"k'{i}", "create", "succeeded", f"h{i}", f"id{i}") for i in range(450)]
        ledger.write_outcomes(run_id, "d", outcomes)
        ledger.write_outcomes(run_id, "d", [Outcome("contact", "k'1", "update", "succeeded", "new", "id1")])
        rows = wh.query("SELECT count(*) AS n FROM ledger_test.sync_state")
        assert rows == [{"n": 450}]
        row = wh.query("SELECT value_hash FROM ledger_test.sync_state WHERE record_key = 'k''1'")
        assert row == [{"value_hash": "new"}]
        wh.insert_rows(parse_relation("ledger_test.sync_records", "t"), (TableColumn("run_id", "string"),), [("x",)])
    finally:
        wh.close()


class _FetchAllOnlyCursor:
    """A DB-API cursor without fetchmany(), as dbt-spark's session cursor is."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self.description: Any = None

    def execute(self, sql: str) -> None:
        self._cursor.execute(sql)
        self.description = self._cursor.description

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._cursor.fetchall())


class _FetchAllOnlyHandle:
    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def cursor(self) -> _FetchAllOnlyCursor:
        return _FetchAllOnlyCursor(self._handle.cursor())


def test_dbt_adapter_streams_from_cursors_without_fetchmany(tmp_path: Path, warehouse: Warehouse) -> None:
    profile = f'p:\n  target: t\n  outputs:\n    t: {{type: duckdb, path: "{warehouse.path}"}}\n'
    (tmp_path / "profiles.yml").write_text(profile)
    wh = open_warehouse(WarehouseConfig(profile="p", profiles_dir=str(tmp_path), method="dbt"))
    assert isinstance(wh, DbtAdapterWarehouse)
    try:
        wh._reader = _FetchAllOnlyHandle(wh._reader)
        batches = list(wh.stream("select range as n from range(450) order by n", 200))
        assert [len(batch) for batch in batches] == [200, 200, 50]
        assert [row["n"] for batch in batches for row in batch] == list(range(450))
    finally:
        wh.close()
