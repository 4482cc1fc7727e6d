"""Benchmark ``segments backfill``: N monthly dates of the whole project at a given size.

Generates demo data once (cached under .data/bench), copies it to a scratch file,
then runs the backfill command in its own process - one full ``dbt build`` per
date, segmentation, history, migrations, drift and journey triggers included -
and measures wall time and peak memory of the process tree. Afterwards it checks
the result: every pair of consecutive dates reconciles exactly (cells of the
transition matrices against customers counted straight from segment_history).

    python bench/bench_backfill.py --customers 100000 --dates 12

The issue's target: 12 monthly dates at 100,000 customers in under 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import dbt_env, demo_file, raw_copy, run_measured
from segmentation.backfill import backfill_dates

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 300.0
_DATE_LINE = re.compile(r"\] (\d{4}-\d{2}-\d{2}) ok in ([0-9.]+)s")


def check(path: Path) -> dict[str, object]:
    """Reconciliation and volume figures of the finished backfill."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        mismatches = con.execute(
            """
            with pairs as (
                select distinct from_date, to_date from segment_transitions
            ),
            recount as (
                select
                    history.view, pairs.from_date, pairs.to_date,
                    count(distinct history.customer_id) as customers
                from pairs
                join segment_history as history
                    on history.as_of_date in (pairs.from_date, pairs.to_date)
                group by 1, 2, 3
            ),
            cells as (
                select view, from_date, to_date, sum(customers) as customers
                from segment_transitions
                group by 1, 2, 3
            )
            select count(*)
            from recount
            full join cells using (view, from_date, to_date)
            where recount.customers is distinct from cells.customers
            """
        ).fetchall()[0][0]
        figures = {
            "history_dates": con.execute("select count(distinct as_of_date) from segment_history").fetchall()[0][0],
            "history_rows": con.execute("select count(*) from segment_history").fetchall()[0][0],
            "migrations": con.execute("select count(*) from segment_migrations").fetchall()[0][0],
            "transition_pairs": con.execute(
                "select count(*) from (select distinct view, to_date from segment_transitions)"
            ).fetchall()[0][0],
            "journey_triggers": con.execute("select count(*) from journey_triggers").fetchall()[0][0],
            "model_versions": con.execute("select count(*) from segment_models").fetchall()[0][0],
            "reconciliation_mismatches": mismatches,
        }
    finally:
        con.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--dates", type=int, default=12, help="monthly dates to backfill")
    parser.add_argument("--start", default="2025-11-01")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("dbt_args", nargs="*", help="extra arguments for every dbt build (after --)")
    args = parser.parse_args()
    console = Console()

    start = date.fromisoformat(args.start)
    end_month = start.month - 1 + args.dates - 1
    end = date(start.year + end_month // 12, end_month % 12 + 1, start.day)
    dates = backfill_dates(start, end, "month")

    source = demo_file(args.customers, args.seed, console)
    scratch = source.parent / f"backfill_{args.customers}.duckdb"
    raw_copy(source, scratch)  # every run starts without history
    work = scratch.parent / f"backfill_{args.customers}_dbt"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    env = dbt_env(scratch, target=work / "target", logs=work / "logs")
    command = [
        sys.executable, "-c", "from segmentation.backfill import backfill_command; backfill_command()",
        "--start", dates[0].isoformat(), "--end", dates[-1].isoformat(), "--every", "month",
        "--project-dir", str(REPO_ROOT),
    ]  # fmt: skip
    if args.dbt_args:
        command += ["--", *args.dbt_args]
    load_before = os.getloadavg()[0]
    console.print(f"backfill of {len(dates)} monthly dates at {args.customers:,} customers ...")
    measured = run_measured(command, env=env, cwd=REPO_ROOT)
    if measured.returncode != 0:
        console.print(measured.output)
        raise SystemExit(f"backfill failed after {measured.wall_seconds:.1f} s")
    per_date = [(d, float(s)) for d, s in _DATE_LINE.findall(measured.output)]
    figures = check(scratch)

    table = Table(title=f"segments backfill: {len(dates)} monthly dates at {args.customers:,} customers")
    table.add_column("as_of_date")
    table.add_column("dbt build s", justify="right")
    for as_of, seconds in per_date:
        table.add_row(as_of, f"{seconds:.1f}")
    table.add_row("total", f"{measured.wall_seconds:.1f}")
    console.print(table)
    verdict = "under" if measured.wall_seconds < TARGET_SECONDS else "OVER"
    console.print(
        f"wall {measured.wall_seconds:.1f} s ({verdict} the {TARGET_SECONDS:.0f} s target), "
        f"peak {measured.peak_rss_mib:,.0f} MiB, load average before {load_before:.1f} on {os.cpu_count()} cores"
    )
    console.print(figures)
    if figures["reconciliation_mismatches"]:
        raise SystemExit("transition matrices do not reconcile with segment_history")

    record = {
        "customers": args.customers,
        "dates": [d.isoformat() for d in dates],
        "wall_s": measured.wall_seconds,
        "peak_mib": measured.peak_rss_mib,
        "per_date_s": dict(per_date),
        "load_average_before": load_before,
        "cpus": os.cpu_count(),
        **figures,
    }
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"backfill_{args.customers}.json").write_text(json.dumps(record, indent=2, default=str))


if __name__ == "__main__":
    main()
