"""Run dbt against a given DuckDB file from tests, the way a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DbtResult:
    ok: bool
    output: str


def dbt_target_dir(duckdb_path: Path) -> Path:
    """Where dbt run on ``duckdb_path`` writes manifest.json and run_results.json: dbt-target beside the file."""
    return duckdb_path.parent / "dbt-target"


def dbt_env(duckdb_path: Path) -> dict[str, str]:
    """The variables that point dbt, or a command that runs it, at ``duckdb_path`` on its DuckDB target.

    profiles.yml.example is copied into dbt-profiles beside the file; dbt's logs
    and target go to dbt-logs and dbt-target there.
    """
    profiles_dir = duckdb_path.parent / "dbt-profiles"
    profiles_dir.mkdir(exist_ok=True)
    (profiles_dir / "profiles.yml").write_text((REPO_ROOT / "profiles.yml.example").read_text())
    return {
        "SEGMENTS_DUCKDB_PATH": str(duckdb_path),
        "SEGMENTS_TARGET": "duckdb",
        "DBT_PROFILES_DIR": str(profiles_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_PATH": str(duckdb_path.parent / "dbt-logs"),
        "DBT_TARGET_PATH": str(dbt_target_dir(duckdb_path)),
    }


def run_dbt(
    args: list[str], duckdb_path: Path, extra_env: dict[str, str] | None = None, project_dir: Path = REPO_ROOT
) -> DbtResult:
    """Run ``dbt <args>`` in a subprocess with the environment of :func:`dbt_env`.

    A subprocess keeps each run's dbt state (adapter caches, flags) separate,
    exactly as on the command line.
    """
    env = {**os.environ, **dbt_env(duckdb_path), **(extra_env or {})}
    dbt = Path(sys.executable).with_name("dbt")
    completed = subprocess.run(
        [str(dbt), *args, "--project-dir", str(project_dir)],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return DbtResult(ok=completed.returncode == 0, output=completed.stdout + completed.stderr)


def query_duckdb(path: Path, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` from the DuckDB file at ``path``, opened read-only and closed again.

    Closing matters: dbt, run next in a subprocess, cannot open a file another process holds.
    """
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def failure_summary(output: str) -> str:
    """dbt's own summary of what failed (the part after "Completed with"), else the output's tail."""
    marker = output.rfind("Completed with")
    return output[marker:] if marker >= 0 else output[-6000:]
