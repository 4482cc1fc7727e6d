"""Benchmark of `segments sync` against the local CRM fakes.

Two measurements, both with the real CLI in a subprocess (as a scheduler runs it)
and the fakes of ``tests/sync/fakes`` on 127.0.0.1:

1. **First sync under a budget**: N customers (default 100,000) to Salesforce
   and HubSpot, the HubSpot fake enforcing a strict rolling window of
   ``--budget`` requests per 10 seconds (default 100, the starter tier) and the
   sync configured for the same tier. Reported: HubSpot calls, their rate over
   the span of the HubSpot phase as a share of the budget (criterion: at least
   90%), the most requests the fake saw in any 10-second window, and 429s (every
   one must have been waited out: the run exits 0 and the CRM matches).
2. **Incremental run**: ``--changed`` (default 5%) of the customers get new
   segments and some new journey triggers arrive; the next run must send at most
   ``ceil(changes / 100)`` HubSpot upsert calls (plus list calls) and exactly one
   Salesforce Bulk job per object.

    python bench/bench_sync.py                     # the full benchmark (~2-3 minutes)
    python bench/bench_sync.py --customers 20000   # a quicker look

Results are printed and written as JSON to ``bench/results/sync.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.sync.checks import assert_everything_synced, seed_all  # noqa: E402
from tests.sync.conftest import (  # noqa: E402
    Crm,
    Warehouse,
    build_warehouse,
    child_env,
    segment_row,
    start_crm,
    trigger_id,
    write_config,
)
from tests.sync.fakes.tls import make_certificate  # noqa: E402


def run_sync(config: Path, env: dict[str, str]) -> tuple[int, float, str]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sync", "--config", str(config), "run", "--no-progress"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    return proc.returncode, time.monotonic() - start, proc.stdout + proc.stderr


def hubspot_window_stats(crm: Crm, since: int) -> dict[str, Any]:
    """Rate and burstiness of the HubSpot requests logged after index ``since``."""
    times = sorted(r.at for r in crm.hs_server.log[since:] if r.fault is None)
    if len(times) < 2:
        return {"calls": len(times), "rate_per_s": 0.0, "max_in_10s": len(times), "span_s": 0.0}
    span = times[-1] - times[0]
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 10.0:
            j += 1
        most = max(most, i - j + 1)
    return {
        "calls": len(times),
        "span_s": round(span, 2),
        "rate_per_s": round((len(times) - 1) / span, 3),
        "max_in_10s": most,
    }


def change_segments(wh: Warehouse, n: int, fraction: float, rng: random.Random) -> int:
    changed = set(rng.sample(range(1, n + 1), int(n * fraction)))
    wh.write_segments([segment_row(i, 1 if i in changed else 0) for i in range(1, n + 1)])
    return len(changed)


def add_triggers(wh: Warehouse, n: int, fraction: float, rng: random.Random) -> int:
    day = dt.date.today()
    rows = []
    for cid in rng.sample(range(1, n + 1), int(n * fraction)):
        journey = rng.choice(["winback", "upsell"])
        rows.append(
            (
                trigger_id(cid, journey, day) + "-bench",
                cid,
                f"Customer{cid}@Example.com",
                journey,
                day,
                "bench",
                rng.random() < 0.2,
            )
        )
    wh.add_triggers(rows)
    return sum(1 for r in rows if not r[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.05, help="share of customers changed (default 0.05)")
    parser.add_argument("--budget", type=int, default=100, help="HubSpot requests per 10 s (default 100)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench" / "results" / "sync.json")
    parser.add_argument("--skip-checks", action="store_true", help="do not compare CRM and warehouse")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    tls = make_certificate(work / "tls")
    crm = start_crm(tls, hs_per_ten_seconds=args.budget, unique_members=False)
    seed_all(crm)
    results: dict[str, Any] = {
        "customers": args.customers,
        "budget_per_10s": args.budget,
        "changed_fraction": args.changed,
    }
    try:
        t0 = time.monotonic()
        wh = build_warehouse(work / "bench.duckdb", args.customers, triggers_every=33)
        results["build_warehouse_s"] = round(time.monotonic() - t0, 1)
        tier = "starter" if args.budget == 100 else None
        extra = f"rate_limit:\n  tier: {tier}\n" if tier else f"rate_limit:\n  requests_per_10s: {args.budget}\n"
        config = write_config(work, wh, crm, hubspot_extra=extra, salesforce_extra="bulk_poll_seconds: 0.5\n")
        config.write_text(config.read_text().replace("chunk_rows: 1000", "chunk_rows: 10000"))
        env = child_env(crm, tls)

        # 1. First sync under the budget.
        hs_start = len(crm.hs_server.log)
        code, seconds, output = run_sync(config, env)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        first = hubspot_window_stats(crm, hs_start)
        first.update(
            exit_code=code,
            seconds=round(seconds, 1),
            upsert_calls=crm.hs.calls["upsert"],
            list_calls=crm.hs.calls["list_add"],
            rate_limited_429=dict(crm.hs.rate_limited),
            share_of_budget=round(first["rate_per_s"] / (args.budget / 10.0), 3),
            salesforce_jobs=dict(crm.sf.jobs_by_object),
            max_rss_mb=round(usage.ru_maxrss / 1024, 1),
        )
        results["first_sync"] = first
        if code != 0:
            print(output[-4000:])
        if not args.skip_checks:
            assert_everything_synced(wh, crm)
            first["crm_matches_warehouse"] = True

        # 2. Incremental run: 5% changed, some new triggers.
        changes = change_segments(wh, args.customers, args.changed, rng)
        enrollments = add_triggers(wh, args.customers, 0.01, rng)
        calls_before = dict(crm.hs.calls)
        jobs_before = dict(crm.sf.jobs_by_object)
        hs_start = len(crm.hs_server.log)
        code2, seconds2, output2 = run_sync(config, env)
        upserts = crm.hs.calls["upsert"] - calls_before.get("upsert", 0)
        lists = crm.hs.calls["list_add"] - calls_before.get("list_add", 0)
        jobs = {k: v - jobs_before.get(k, 0) for k, v in crm.sf.jobs_by_object.items()}
        second = {
            "exit_code": code2,
            "seconds": round(seconds2, 1),
            "changed_records": changes,
            "new_enrollments": enrollments,
            "hubspot_upsert_calls": upserts,
            "hubspot_upsert_limit": math.ceil(changes / 100),
            "hubspot_list_calls": lists,
            "hubspot_other_calls": sum(crm.hs.calls.values()) - sum(calls_before.values()) - upserts - lists,
            "salesforce_jobs": jobs,
            "hubspot": hubspot_window_stats(crm, hs_start),
        }
        results["incremental"] = second
        if code2 != 0:
            print(output2[-4000:])
        if not args.skip_checks:
            assert_everything_synced(wh, crm)
            second["crm_matches_warehouse"] = True
    finally:
        crm.sf_server.stop()
        crm.hs_server.stop()

    ok = (
        results["first_sync"]["exit_code"] == 0
        and results["first_sync"]["share_of_budget"] >= 0.9
        and results["first_sync"]["max_in_10s"] <= args.budget
        and results["incremental"]["exit_code"] == 0
        and results["incremental"]["hubspot_upsert_calls"] <= results["incremental"]["hubspot_upsert_limit"]
        and all(v == 1 for v in results["incremental"]["salesforce_jobs"].values())
    )
    results["passed"] = ok
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
