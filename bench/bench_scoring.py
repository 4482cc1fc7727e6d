"""Benchmark: scoring every customer in SQL (in DuckDB) vs the Python scorer.

For each size it takes the demo warehouse of bench_features (generated and feature-
built once, cached under .data/bench), copies customer_features into a bench file,
fits each view's model with `segments fit` (the same fit as the dbt Python model,
stored in segments__model_<view>), then measures, each in its own process:

* python: what the dbt Python model segments__assignments_<view> does on DuckDB
  (segmentation.dbt_entry.build_assignments: stream features as Arrow batches into
  pandas, score in numpy chunks, stream the result back into a table);
* sql: the statement models/scoring/segments__assignments_sql_<view> runs, generated
  from the same stored model (dbt run-operation segments_print_scoring_sql).

It checks that both give the same segment id for every customer and prints wall time
and peak memory side by side.

    python bench/bench_scoring.py --sizes 100000 1000000
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

from bench.bench_features import dbt_feature_stage
from bench.measure import BIN, Measured, dbt_env, demo_file, run_measured

REPO_ROOT = Path(__file__).resolve().parents[1]
VIEWS = ("value", "behavioral", "channel")

PYTHON_SCORING = """
import sys, duckdb
from segmentation.dbt_entry import build_assignments
path, view = sys.argv[1], sys.argv[2]
con = duckdb.connect(path)
source = con.cursor()  # as in dbt-duckdb: the inputs are read on their own cursor
reader = build_assignments(None, con, source.table("main.customer_features"),
                           source.table(f"main.segments__model_{view}"), view)
con.execute(f"create or replace table main.bench_python_{view} as select * from reader")
print(con.execute(f"select count(*) from main.bench_python_{view}").fetchall()[0][0])
"""

SQL_SCORING = """
import sys, duckdb
path, view, sql_file = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect(path)
sql = open(sql_file).read()
con.execute(f"create or replace table main.bench_sql_{view} as {sql}")
print(con.execute(f"select count(*) from main.bench_sql_{view}").fetchall()[0][0])
"""


def bench_file(customers: int, seed: int, console: Console) -> Path:
    """A DuckDB file holding only customer_features of the demo warehouse, models fitted."""
    demo = demo_file(customers, seed, console)
    con = duckdb.connect(str(demo), read_only=True)
    has_features = bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'main' and table_name = 'customer_features'"
        ).fetchall()[0][0]
    )
    con.close()
    if not has_features:
        console.print(f"building features for {customers:,} customers ...")
        dbt_feature_stage(demo)
    path = demo.parent / f"scoring_{customers}_{seed}.duckdb"
    if path.exists():
        return path
    con = duckdb.connect(str(path))
    con.execute(f"attach '{demo}' as demo (read_only)")
    con.execute("create table main.customer_features as select * from demo.main.customer_features")
    con.execute("detach demo")
    con.close()
    console.print(f"fitting models on the bounded sample ({customers:,} customers) ...")
    fit = run_measured(
        [sys.executable, "-m", "segmentation.fit_cli", "--project-dir", str(REPO_ROOT)],
        env=dbt_env(path),
        cwd=REPO_ROOT,
    )
    if fit.returncode != 0:
        path.unlink(missing_ok=True)
        raise SystemExit(fit.output)
    console.print(f"  fitted in {fit.wall_seconds:.1f} s")
    return path


def scoring_sql(path: Path, view: str) -> str:
    """The SQL the scoring model would run for ``view``, generated from the stored model."""
    args = json.dumps({"histories": [f"segments__model_{view}"], "view": view})
    result = run_measured(
        [str(BIN / "dbt"), "run-operation", "segments_print_scoring_sql", "--args", args],
        env=dbt_env(path),
        cwd=REPO_ROOT,
        check=True,
    )
    begin = f"-- segments-scoring-sql-begin segments__model_{view}"
    end = f"-- segments-scoring-sql-end segments__model_{view}"
    return result.output.split(begin, 1)[1].split(end, 1)[0]


def compare(path: Path, view: str) -> tuple[int, float, int, int]:
    """(customers with equal ids, max |confidence difference|, customers, k) of the two results."""
    con = duckdb.connect(str(path), read_only=True)
    row = con.execute(
        f"""
        select
            count(*) filter (where p.segment_id = s.segment_id),
            max(abs(p.confidence - s.confidence)),
            count(*)
        from main.bench_python_{view} as p
        full join main.bench_sql_{view} as s using (customer_id)
        """
    ).fetchall()[0]
    k = con.execute(f"select k from main.segments__model_{view} order by model_version desc limit 1").fetchall()[0][0]
    con.close()
    return int(row[0]), float(row[1] or 0.0), int(row[2]), int(k)


def _run(script: str, *args: str) -> Measured:
    return run_measured([sys.executable, "-c", script, *args], cwd=REPO_ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--views", nargs="+", default=list(VIEWS), choices=VIEWS)
    args = parser.parse_args()
    console = Console()

    table = Table(title="Scoring every customer on DuckDB: Python scorer vs SQL scoring")
    for column in (
        "customers",
        "view",
        "k",
        "python s",
        "python peak MiB",
        "sql s",
        "sql peak MiB",
        "python / sql",
        "same id",
        "max |Δ conf|",
    ):
        table.add_column(column, justify="right")
    records = []
    for size in args.sizes:
        path = bench_file(size, args.seed, console)
        for view in args.views:
            sql_file = path.parent / f"scoring_{size}_{view}.sql"
            sql_file.write_text(scoring_sql(path, view))
            console.print(f"scoring {view} at {size:,} customers ...")
            python = _run(PYTHON_SCORING, str(path), view)
            sql = _run(SQL_SCORING, str(path), view, str(sql_file))
            same, max_diff, total, k = compare(path, view)
            ratio = python.wall_seconds / sql.wall_seconds
            records.append(
                {
                    "customers": size,
                    "view": view,
                    "k": k,
                    "python_wall_s": python.wall_seconds,
                    "python_peak_mib": python.peak_rss_mib,
                    "sql_wall_s": sql.wall_seconds,
                    "sql_peak_mib": sql.peak_rss_mib,
                    "ratio": ratio,
                    "same_segment_id": same,
                    "customers_scored": total,
                    "max_confidence_diff": max_diff,
                }
            )
            table.add_row(
                f"{size:,}",
                view,
                str(k),
                f"{python.wall_seconds:.1f}",
                f"{python.peak_rss_mib:,.0f}",
                f"{sql.wall_seconds:.1f}",
                f"{sql.peak_rss_mib:,.0f}",
                f"{ratio:.1f}x",
                f"{same:,}/{total:,}",
                f"{max_diff:.1e}",
            )
    console.print(table)
    # Both columns include starting Python; the Python scorer also imports pandas and scikit-learn.
    python_start = _run("import duckdb; from segmentation.dbt_entry import build_assignments").wall_seconds
    sql_start = _run("import duckdb").wall_seconds
    console.print(f"process start-up inside those times: python {python_start:.2f} s, sql {sql_start:.2f} s")
    for record in records:
        record["python_startup_s"] = python_start
        record["sql_startup_s"] = sql_start
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "scoring.json").write_text(json.dumps(records, indent=2))


if __name__ == "__main__":
    main()
