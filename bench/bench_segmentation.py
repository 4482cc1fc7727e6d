"""Benchmark the segmentation stage of ``dbt build`` and the seed-style alternative.

For each size it takes the cached demo data (``.data/bench``, generated when absent),
copies only its raw tables into a fresh DuckDB file, and measures, each in its own
process:

1. the whole ``dbt build`` (features, the three views, everything downstream; unit
   tests excluded), with per-stage and per-model times from ``run_results.json``;
2. a second build of the segmentation stage only, which reuses the stored models
   (the daily path), and a build with a forced refit;
3. per view, fit (sample, automatic k, stability) and scoring of every customer by the
   ``segmentation`` package outside dbt, with peak memory;
4. the seed-style approach on the same features: pandas + scikit-learn k-means on all
   customers, a k sweep 2..8 picking the best silhouette (sampled, so it finishes).

Adjusted Rand index against ``raw.demo_personas`` is reported for both approaches.

    python bench/bench_segmentation.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import Measured, dbt_build, demo_file, raw_copy, run_measured

REPO_ROOT = Path(__file__).resolve().parents[1]
VIEWS = ("value", "behavioral", "channel")
SEGMENT_STAGE = ["path:python_models", "path:models/segments", "path:seeds/segments__segment_name_overrides.csv"]
FEATURE_PATHS = ("models/staging", "models/intermediate", "models/features", "models/quality", "seeds/rfm")
SEGMENT_PATHS = ("python_models/", "models/segments", "seeds/segments__segment_name_overrides")


# --------------------------------------------------------------------------- helpers


def build(path: Path, *args: str) -> tuple[Measured, dict[str, Any]]:
    """``dbt build`` without unit tests, measured, and its run_results.json."""
    return dbt_build(path, "--exclude", "test_type:unit", *args)


def stage_times(results: dict[str, Any]) -> dict[str, float]:
    """Summed execution time per stage (with two dbt threads, sums exceed wall time)."""
    stages: dict[str, float] = defaultdict(float)
    for node in results["results"]:
        unique_id: str = node["unique_id"]
        seconds = float(node["execution_time"])
        if unique_id.startswith("test."):
            stages["data tests"] += seconds
            continue
        name = unique_id.split(".")[-1]
        if name.startswith(("segments__model_", "segments__assignments_", "segments__profiles_")) or name in {
            "segment_catalog",
            "segment_assignments",
            "segment_profiles",
            "segment_models",
            "customer_segments",
            "segments__segment_name_overrides",
        }:
            stages["segmentation"] += seconds
        elif name.startswith(("stg_", "int_", "customer_rfm", "customer_product", "customer_channel")) or name in {
            "customer_features",
            "data_quality",
            "segments__rfm_segment_grid",
        }:
            stages["features"] += seconds
        else:
            stages["other models"] += seconds
    return dict(stages)


def model_times(results: dict[str, Any], prefix: str) -> dict[str, float]:
    return {
        node["unique_id"].split(".")[-1]: round(float(node["execution_time"]), 2)
        for node in results["results"]
        if node["unique_id"].split(".")[-1].startswith(prefix)
    }


def ari_of_build(path: Path) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score

    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for view in VIEWS:
            frame = con.sql(
                f"select a.segment_id, p.{view}_persona as persona from main.segment_assignments a "
                f"join raw.demo_personas p using (customer_id) "
                f"where a.view = '{view}' and a.as_of_date = (select max(as_of_date) from main.customer_features)"
            ).df()
            out[view] = round(float(adjusted_rand_score(frame["persona"], frame["segment_id"])), 3)
        return out
    finally:
        con.close()


def worker(kind: str, path: Path, view: str | None) -> Measured:
    command = [sys.executable, __file__, "--worker", kind, "--db", str(path)]
    if view:
        command += ["--view", view]
    return run_measured(command, cwd=REPO_ROOT, check=True)


# --------------------------------------------------------------------------- workers


def _view_settings() -> dict[str, dict[str, Any]]:
    import yaml

    doc = yaml.safe_load((REPO_ROOT / "python_models" / "_segmentation.yml").read_text())
    return {
        m["config"]["meta"]["segmentation"]["view"]: m["config"]["meta"]["segmentation"]
        for m in doc["models"]
        if m["name"].startswith("segments__model_")
    }


def ari_from_contingency(table: dict[tuple[str, int], int]) -> float:
    """Adjusted Rand index from (truth, assigned) pair counts, so scoring keeps no arrays."""
    from math import comb

    rows: dict[str, int] = defaultdict(int)
    cols: dict[int, int] = defaultdict(int)
    for (truth, assigned), count in table.items():
        rows[truth] += count
        cols[assigned] += count
    n = sum(table.values())
    index = sum(comb(c, 2) for c in table.values())
    row_pairs = sum(comb(c, 2) for c in rows.values())
    col_pairs = sum(comb(c, 2) for c in cols.values())
    expected = row_pairs * col_pairs / comb(n, 2)
    maximum = (row_pairs + col_pairs) / 2
    return (index - expected) / (maximum - expected) if maximum != expected else 1.0


def _fit_and_score(relation: Any, view: str) -> tuple[dict[str, float], int, dict[tuple[str, int], int]]:
    """The dbt models' work for one view: streamed bottom-k sample, fit, chunked scoring."""
    from datetime import datetime

    from segmentation.config import parse_view_config
    from segmentation.pipeline import fit_view, score_frame
    from segmentation.sampling import BottomKSampler

    config = parse_view_config(_view_settings()[view])
    started = time.perf_counter()
    sampler = BottomKSampler(config.sample_size, config.seed)
    for batch in relations_module().iter_pandas(relation, None, config.chunk_size):
        sampler.add(batch)
    sampled = time.perf_counter()
    model = fit_view(
        sampler.result(),
        config,
        as_of_date=None,
        previous=None,
        version=1,
        max_segment_id=0,
        n_customers=sampler.rows_seen,
        fit_reason="benchmark",
        fitted_at=datetime.now(),
    )
    fitted = time.perf_counter()
    pairs: dict[tuple[str, int], int] = defaultdict(int)
    for batch in relations_module().iter_pandas(relation, None, config.chunk_size):
        scored = score_frame(model, batch, config.chunk_size)
        keys = pd.DataFrame({"persona": batch["persona"].astype(str).to_numpy(), "segment": scored["segment_id"]})
        for persona, segment, count in keys.value_counts().reset_index().itertuples(index=False):
            pairs[(str(persona), int(segment))] += int(count)
    done = time.perf_counter()
    times = {"sample_s": sampled - started, "fit_s": fitted - sampled, "score_s": done - fitted}
    return times, model.k, pairs


def relations_module() -> Any:
    from segmentation import relations

    return relations


def run_ours(path: Path, view: str) -> dict[str, Any]:
    """Fit and score one view with the package, streaming the features like the dbt model.

    Run twice: once for time, once under tracemalloc for the peak of Python and numpy
    allocations (DuckDB's own buffer cache is outside it), which shows that the work
    holds a bounded sample and one chunk at a time, not the customers.
    """
    import tracemalloc

    from segmentation.config import parse_view_config
    from segmentation.pipeline import usable_features

    config = parse_view_config(_view_settings()[view])
    con = duckdb.connect(str(path), read_only=True)
    resolved = usable_features(config, relations_module().columns_of(con.table("main.customer_features")))
    columns = ", ".join(f'f."{c}"' for c in ["customer_id", "as_of_date", *resolved.all])
    relation = con.sql(
        f"select {columns}, p.{view}_persona as persona "
        "from main.customer_features f join raw.demo_personas p using (customer_id)"
    )
    times, k, pairs = _fit_and_score(relation, view)
    tracemalloc.start()
    _fit_and_score(relation, view)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "view": view,
        "k": k,
        **{key: round(value, 2) for key, value in times.items()},
        "python_peak_mib": round(peak / 2**20, 1),
        "ari": round(ari_from_contingency(pairs), 3),
    }


def run_seed_style(path: Path) -> dict[str, Any]:
    """The usual notebook approach: everything in pandas, k-means on all customers, k sweep."""
    import fnmatch

    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, silhouette_score
    from sklearn.preprocessing import StandardScaler

    started = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    frame = con.sql("select * from main.customer_features").df()
    truth = con.sql("select * from raw.demo_personas").df().set_index("customer_id").loc[frame["customer_id"]]
    loaded = time.perf_counter()
    out: dict[str, Any] = {"load_s": round(loaded - started, 2), "views": {}}
    for view, settings in _view_settings().items():
        t0 = time.perf_counter()
        columns = [c for c in frame.columns if any(fnmatch.fnmatch(c, p) for p in settings["features"])]
        logged = [c for c in columns if any(fnmatch.fnmatch(c, p) for p in settings.get("log_features", []))]
        data = frame[columns].astype("float64").copy()
        data[logged] = np.log1p(data[logged].clip(lower=0))
        x = StandardScaler().fit_transform(data.fillna(data.median()))
        best: tuple[float, int, np.ndarray] | None = None
        for k in range(2, 9):
            labels = KMeans(n_clusters=k, n_init="auto", random_state=42).fit_predict(x)
            score = float(silhouette_score(x, labels, sample_size=min(10_000, len(x)), random_state=42))
            if best is None or score > best[0]:
                best = (score, k, labels)
        assert best is not None
        out["views"][view] = {
            "k": best[1],
            "seconds": round(time.perf_counter() - t0, 2),
            "ari": round(float(adjusted_rand_score(truth[f"{view}_persona"], best[2])), 3),
        }
    out["total_s"] = round(time.perf_counter() - started, 2)
    return out


# --------------------------------------------------------------------------- main


def bench_size(size: int, seed: int, console: Console, skip_seed_style: bool) -> dict[str, Any]:
    cached = demo_file(size, seed, console)
    path = cached.parent / f"segmentation_{size}_{seed}.duckdb"
    console.print(f"[bold]{size:,} customers[/bold]: fresh copy of the raw tables")
    raw_copy(cached, path)
    record: dict[str, Any] = {"customers": size}

    console.print("  whole dbt build ...")
    full, results = build(path)
    record["full_build"] = {
        "wall_s": round(full.wall_seconds, 1),
        "dbt_elapsed_s": round(float(results["elapsed_time"]), 1),
        "peak_mib": round(full.peak_rss_mib),
        "stage_sum_s": {k: round(v, 1) for k, v in stage_times(results).items()},
        "segmentation_models_s": {
            **model_times(results, "segments__model_"),
            **model_times(results, "segment_assignments"),
            **model_times(results, "segment_profiles"),
            **model_times(results, "customer_segments"),
        },
        "ari": ari_of_build(path),
    }

    console.print("  segmentation stage again (stored models reused) ...")
    again, _ = build(path, "--select", *SEGMENT_STAGE)
    record["rebuild_segments"] = {"wall_s": round(again.wall_seconds, 1), "peak_mib": round(again.peak_rss_mib)}
    console.print("  segmentation stage with a forced refit ...")
    refit, _ = build(path, "--select", *SEGMENT_STAGE, "--vars", "{segments_refit: true}")
    record["refit_segments"] = {"wall_s": round(refit.wall_seconds, 1), "peak_mib": round(refit.peak_rss_mib)}

    record["package"] = {}
    for view in VIEWS:
        console.print(f"  package fit + score, {view} ...")
        measured = worker("ours", path, view)
        result = measured.last_json()
        result.update(wall_s=round(measured.wall_seconds, 1), peak_mib=round(measured.peak_rss_mib))
        record["package"][view] = result

    if not skip_seed_style:
        console.print("  seed-style pandas + k-means sweep ...")
        measured = worker("seed-style", path, None)
        result = measured.last_json()
        result.update(wall_s=round(measured.wall_seconds, 1), peak_mib=round(measured.peak_rss_mib))
        record["seed_style"] = result
    return record


def print_tables(records: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="dbt build with the three segmentation views")
    for column in (
        "customers",
        "build s",
        "peak MiB",
        "features s*",
        "segmentation s*",
        "other s*",
        "rebuild s",
        "refit s",
    ):
        table.add_column(column, justify="right")
    for r in records:
        stages = r["full_build"]["stage_sum_s"]
        table.add_row(
            f"{r['customers']:,}",
            f"{r['full_build']['wall_s']:.1f}",
            f"{r['full_build']['peak_mib']:,}",
            f"{stages.get('features', 0):.1f}",
            f"{stages.get('segmentation', 0):.1f}",
            f"{stages.get('other models', 0):.1f}",
            f"{r['rebuild_segments']['wall_s']:.1f}",
            f"{r['refit_segments']['wall_s']:.1f}",
        )
    console.print(table)
    console.print("* summed model times; two dbt threads run models side by side, so sums exceed wall time")

    views = Table(title="Per view: package (sampled fit, chunked scoring) vs seed-style (k-means sweep on all)")
    columns = (
        "customers",
        "view",
        "k",
        "fit s",
        "score s",
        "peak MiB",
        "py peak MiB",
        "ARI",
        "seed k",
        "seed s",
        "seed ARI",
    )
    for column in columns:
        views.add_column(column, justify="right")
    for r in records:
        seed = r.get("seed_style", {}).get("views", {})
        for view in VIEWS:
            ours = r["package"][view]
            theirs = seed.get(view, {})
            views.add_row(
                f"{r['customers']:,}",
                view,
                str(ours["k"]),
                f"{ours['sample_s'] + ours['fit_s']:.1f}",
                f"{ours['score_s']:.1f}",
                f"{ours['peak_mib']:,}",
                f"{ours['python_peak_mib']:,.0f}",
                f"{ours['ari']:.3f}",
                str(theirs.get("k", "-")),
                f"{theirs['seconds']:.1f}" if theirs else "-",
                f"{theirs['ari']:.3f}" if theirs else "-",
            )
    console.print(views)
    for r in records:
        if "seed_style" in r:
            s = r["seed_style"]
            console.print(
                f"seed-style at {r['customers']:,}: {s['wall_s']:.1f} s wall (load {s['load_s']:.1f} s), "
                f"peak {s['peak_mib']:,} MiB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-seed-style", action="store_true")
    parser.add_argument("--worker", choices=["ours", "seed-style"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--view", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "ours":
        print(json.dumps(run_ours(args.db, args.view)))
        return
    if args.worker == "seed-style":
        print(json.dumps(run_seed_style(args.db)))
        return

    console = Console(width=150)
    records = [bench_size(size, args.seed, console, args.skip_seed_style) for size in args.sizes]
    print_tables(records, console)
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "segmentation.json").write_text(json.dumps(records, indent=2))


if __name__ == "__main__":
    main()
