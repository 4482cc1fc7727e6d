"""Benchmark the feature stage of ``dbt build`` against the pandas way of doing it.

For each size it generates demo data once (cached under .data/bench), then
measures, each in its own process: the feature stage of ``dbt build``
(staging, intermediate, features, data quality, with their tests) and the
seed-style pandas implementation in ``pandas_features.py``. It prints wall
time and peak memory side by side, and the ratio.

    python bench/bench_features.py --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import Measured, dbt_build, demo_file, run_measured

REPO_ROOT = Path(__file__).resolve().parents[1]
FEATURE_STAGE = [
    "path:models/staging",
    "path:models/intermediate",
    "path:models/features",
    "path:models/quality",
    "path:seeds/segments__rfm_segment_grid.csv",
]


def dbt_feature_stage(path: Path) -> tuple[Measured, float]:
    """Measure `dbt build` of the feature stage; also return the models' own elapsed time."""
    measured, results = dbt_build(path, "--indirect-selection", "cautious", "--select", *FEATURE_STAGE)
    return measured, float(results["elapsed_time"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    console = Console()

    table = Table(title="Feature stage: dbt build on DuckDB vs pandas")
    for column in (
        "customers",
        "order lines",
        "dbt wall s",
        "dbt models s",
        "dbt peak MiB",
        "pandas wall s",
        "pandas peak MiB",
        "pandas / dbt",
    ):
        table.add_column(column, justify="right")
    records = []
    for size in args.sizes:
        path = demo_file(size, args.seed, console)
        con = duckdb.connect(str(path), read_only=True)
        lines = con.execute("select count(*) from raw.order_lines").fetchall()[0][0]
        con.close()
        console.print(f"dbt feature stage at {size:,} customers ...")
        dbt, models_elapsed = dbt_feature_stage(path)
        record = {
            "customers": size,
            "order_lines": lines,
            "dbt_wall_s": dbt.wall_seconds,
            "dbt_models_s": models_elapsed,
            "dbt_peak_mib": dbt.peak_rss_mib,
        }
        row = [
            f"{size:,}",
            f"{lines:,}",
            f"{dbt.wall_seconds:.1f}",
            f"{models_elapsed:.1f}",
            f"{dbt.peak_rss_mib:,.0f}",
        ]
        if not args.skip_pandas:
            console.print(f"pandas baseline at {size:,} customers ...")
            pandas = run_measured(
                [sys.executable, str(REPO_ROOT / "bench" / "pandas_features.py"), str(path)], check=True
            )
            ratio = pandas.wall_seconds / dbt.wall_seconds
            record.update(
                {
                    "pandas_wall_s": pandas.wall_seconds,
                    "pandas_peak_mib": pandas.peak_rss_mib,
                    "ratio": ratio,
                    "pandas_steps": pandas.last_json(),
                }
            )
            row += [f"{pandas.wall_seconds:.1f}", f"{pandas.peak_rss_mib:,.0f}", f"{ratio:.1f}x"]
        else:
            row += ["-", "-", "-"]
        table.add_row(*row)
        records.append(record)
    console.print(table)
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "features.json").write_text(json.dumps(records, indent=2))


if __name__ == "__main__":
    main()
