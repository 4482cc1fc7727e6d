"""Benchmark the demo data generator: wall time and peak memory per size.

Each size runs in its own process (so peak memory is that size's alone) and
writes a fresh DuckDB file under .data/bench/, deleted afterwards unless
--keep is given. Peak memory is reported twice: the child's own
``ru_maxrss`` ("peak MiB", exact) and the sampled resident size of its
process tree ("sampled MiB"); "gen s" is the time inside the generator,
"wall s" includes starting Python.

    python bench/bench_demo_data.py --customers 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import run_measured

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS_AT_1M = 120.0

_CHILD = """
import json, resource, sys, time
from segmentation.demo import generate_demo_data
started = time.perf_counter()
counts = generate_demo_data(sys.argv[1], customers=int(sys.argv[2]), seed=int(sys.argv[3]))
seconds = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"counts": counts, "seconds": seconds, "peak_mib": peak_kib / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the generated DuckDB files")
    args = parser.parse_args()
    console = Console()
    folder = REPO_ROOT / ".data" / "bench"
    folder.mkdir(parents=True, exist_ok=True)

    table = Table(title="Demo data generator")
    for column in ("customers", "lines", "events", "wall s", "gen s", "peak MiB", "sampled MiB", "file MiB"):
        table.add_column(column, justify="right")
    for size in args.customers:
        path = folder / f"demo_data_bench_{size}_{args.seed}.duckdb"
        path.unlink(missing_ok=True)
        console.print(f"generating {size:,} customers ...")
        command = [sys.executable, "-c", _CHILD, str(path), str(size), str(args.seed)]
        measured = run_measured(command, cwd=REPO_ROOT, check=True)
        report = measured.last_json()
        file_mib = path.stat().st_size / 2**20
        if not args.keep:
            path.unlink(missing_ok=True)
        table.add_row(
            f"{size:,}",
            f"{report['counts']['order_lines']:,}",
            f"{report['counts']['engagement_events']:,}",
            f"{measured.wall_seconds:.1f}",
            f"{report['seconds']:.1f}",
            f"{report['peak_mib']:,.0f}",
            f"{measured.peak_rss_mib:,.0f}",
            f"{file_mib:,.0f}",
        )
        console.print(
            f"  {size:,} customers: {report['counts']['order_lines']:,} lines, "
            f"wall {measured.wall_seconds:.1f} s, peak {report['peak_mib']:,.0f} MiB"
        )
        if size == 1_000_000 and measured.wall_seconds > TARGET_SECONDS_AT_1M:
            console.print(f"[red]1M customers took {measured.wall_seconds:.0f} s (target < 120 s)[/red]")
    console.print(table)


if __name__ == "__main__":
    main()
