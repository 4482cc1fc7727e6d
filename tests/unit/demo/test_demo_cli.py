"""The ``segments demo-data`` command: options, defaults, exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from segmentation.demo.cli import demo_data_command
from tests.dbt_harness import query_duckdb


def _count(path: Path, sql: str) -> int:
    return int(query_duckdb(path, sql)[0][0])


def test_writes_tables_and_prints_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(
        demo_data_command,
        ["--customers", "120", "--seed", "9", "--duckdb", str(path), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    lines = _count(path, "select count(*) from raw.order_lines")
    assert _count(path, "select count(*) from raw.customers") == 120
    assert "raw.order_lines" in result.output
    assert f"{lines:,}" in result.output
    assert "seconds" in result.output


def test_default_path_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "from_env" / "warehouse.duckdb"
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(target))
    result = CliRunner().invoke(demo_data_command, ["--customers", "30", "--quiet"])
    assert result.exit_code == 0, result.output
    assert _count(target, "select count(*) from raw.customers") == 30


def test_default_path_without_environment_is_under_dot_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGMENTS_DUCKDB_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(demo_data_command, ["--customers", "20", "--quiet"])
    assert result.exit_code == 0, result.output
    assert _count(tmp_path / ".data" / "segments.duckdb", "select count(*) from raw.customers") == 20


def test_minimal_schema_and_as_of_options(tmp_path: Path) -> None:
    path = tmp_path / "opts.duckdb"
    result = CliRunner().invoke(
        demo_data_command,
        [
            "--customers",
            "80",
            "--seed",
            "2",
            "--duckdb",
            str(path),
            "--schema",
            "landing",
            "--minimal",
            "--as-of",
            "2025-06-30",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        newest = con.execute("select max(ordered_at)::date from landing.order_lines").fetchall()
    finally:
        con.close()
    assert tables == [("landing", "order_lines")]
    assert str(newest[0][0]) == "2025-06-30"


def test_progress_bar_does_not_break_the_run(tmp_path: Path) -> None:
    path = tmp_path / "progress.duckdb"
    result = CliRunner().invoke(demo_data_command, ["--customers", "40", "--duckdb", str(path)])
    assert result.exit_code == 0, result.output
    assert _count(path, "select count(*) from raw.customers") == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "0"], "--customers"),
        (["--customers", "-3"], "--customers"),
        (["--customers", "many"], "--customers"),
        (["--seed", "-1"], "--seed"),
        (["--as-of", "31/10/2026"], "--as-of"),
        (["--unknown-flag"], "--unknown-flag"),
    ],
)
def test_bad_options_exit_with_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "bad.duckdb"
    result = CliRunner().invoke(demo_data_command, [*args, "--duckdb", str(path), "--quiet"])
    assert result.exit_code == 2
    assert message in result.output
    assert not path.exists()


def test_bad_schema_name_exits_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad_schema.duckdb"
    result = CliRunner().invoke(
        demo_data_command,
        ["--customers", "5", "--schema", "raw.x", "--duckdb", str(path), "--quiet"],
    )
    assert result.exit_code == 1
    assert "schema 'raw.x' is not a plain SQL identifier" in result.output
    assert not path.exists()


def test_directory_target_exits_with_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(demo_data_command, ["--customers", "5", "--duckdb", str(tmp_path), "--quiet"])
    assert result.exit_code == 2
    assert "is a directory" in result.output
