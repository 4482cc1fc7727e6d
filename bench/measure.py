"""Wall time and peak memory of a command and all of its children, and the cached demo data benchmarks run on."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psutil
from rich.console import Console

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Measured:
    wall_seconds: float
    peak_rss_bytes: int
    returncode: int
    output: str

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / 2**20

    def last_json(self) -> Any:
        """The JSON document the command printed on its last line of output."""
        return json.loads(self.output.strip().splitlines()[-1])


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(
    command: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    interval: float = 0.02,
    check: bool = False,
) -> Measured:
    """Run ``command``, sampling the resident memory of its process tree every ``interval`` seconds.

    With ``check``, a failing command ends the benchmark with its output.
    """
    started = time.perf_counter()
    with subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as child:
        watched = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _tree_rss(watched))
            time.sleep(interval)
        output = child.stdout.read() if child.stdout else ""
    if check and child.returncode != 0:
        raise SystemExit(output)
    return Measured(time.perf_counter() - started, peak, child.returncode, output)


def dbt_env(duckdb_path: Path, target: Path | None = None, logs: Path | None = None) -> dict[str, str]:
    """The environment for dbt, or a command that runs it, on the DuckDB file at ``duckdb_path``.

    The project's profiles.yml with its DuckDB target; dbt's target and log folders
    default to ``target_<file stem>`` and ``logs`` beside the file.
    """
    return {
        **os.environ,
        "SEGMENTS_DUCKDB_PATH": str(duckdb_path),
        "SEGMENTS_TARGET": "duckdb",
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_TARGET_PATH": str(target or duckdb_path.parent / f"target_{duckdb_path.stem}"),
        "DBT_LOG_PATH": str(logs or duckdb_path.parent / "logs"),
    }


def dbt_build(duckdb_path: Path, *args: str) -> tuple[Measured, dict[str, Any]]:
    """Measure ``dbt build <args>`` on ``duckdb_path``, ending the benchmark if it fails; also its run_results.json."""
    env = dbt_env(duckdb_path)
    measured = run_measured([str(BIN / "dbt"), "build", *args], env=env, cwd=REPO_ROOT, check=True)
    return measured, json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())


def raw_copy(source: Path, target: Path) -> None:
    """Replace ``target`` with a DuckDB file holding only the raw tables of ``source`` (no built models or history)."""
    target.unlink(missing_ok=True)
    Path(f"{target}.wal").unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    try:
        con.execute(f"attach '{source}' as source (read_only)")
        con.execute("create schema raw")
        tables = con.execute(
            "select table_name from information_schema.tables where table_catalog = 'source' and table_schema = 'raw'"
        ).fetchall()
        for (table,) in tables:
            con.execute(f'create table raw."{table}" as select * from source.raw."{table}"')
        con.execute("detach source")
    finally:
        con.close()


def _generator_digest() -> str:
    """A short hash of the demo generator's source, so a changed generator never reuses stale data."""
    digest = hashlib.sha256()
    for source in sorted((REPO_ROOT / "segmentation" / "demo").glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:10]


def demo_file(customers: int, seed: int, console: Console) -> Path:
    """The demo DuckDB file for a size and seed under .data/bench, generated when absent."""
    folder = REPO_ROOT / ".data" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"demo_{customers}_{seed}_{_generator_digest()}.duckdb"
    if not path.exists():
        console.print(f"generating demo data: {customers:,} customers")
        script = (
            "from segmentation.demo import generate_demo_data; "
            f"generate_demo_data({str(path)!r}, customers={customers}, seed={seed})"
        )
        made = run_measured([sys.executable, "-c", script])
        if made.returncode != 0:
            path.unlink(missing_ok=True)
            raise SystemExit(made.output)
        console.print(f"  generated in {made.wall_seconds:.1f} s, peak {made.peak_rss_mib:,.0f} MiB")
    return path
