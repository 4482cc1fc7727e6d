"""Wall time and peak memory of a command and all of its children."""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Measured:
    wall_seconds: float
    peak_rss_bytes: int
    returncode: int
    output: str

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / 2**20


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
) -> Measured:
    """Run ``command``, sampling the resident memory of its process tree every ``interval`` seconds."""
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
    return Measured(time.perf_counter() - started, peak, child.returncode, output)
