"""Crash safety and fault tolerance: kill the sync anywhere, inject faults, end state holds.

The sync runs as a real subprocess (``python -m sync run``) against the fakes,
which live in this test process so their state survives the kill. Each
iteration changes some segments and adds triggers, starts a run, kills it with
SIGKILL after a random number of CRM requests (so the kill lands mid-run: in a
Bulk job, between HubSpot batches, during ledger writes…), sometimes kills the
rerun too, then lets a run finish and checks: the CRM equals the warehouse, no
campaign or list member is duplicated and no update is lost.

``SYNC_KILL_ITERATIONS`` / ``SYNC_FAULT_ITERATIONS`` raise the number of
iterations for soak runs; ``SYNC_TEST_SEED`` fixes the random seed.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sync.checks import assert_everything_synced, seed_all
from tests.sync.conftest import (
    REPO_ROOT,
    Crm,
    Warehouse,
    build_warehouse,
    child_env,
    segment_row,
    start_crm,
    trigger_id,
    write_config,
)
from tests.sync.fakes.server import Fault

KILL_ITERATIONS = int(os.environ.get("SYNC_KILL_ITERATIONS", "3"))
FAULT_ITERATIONS = int(os.environ.get("SYNC_FAULT_ITERATIONS", "2"))
CUSTOMERS = int(os.environ.get("SYNC_KILL_CUSTOMERS", "400"))


def _seed() -> int:
    return int(os.environ.get("SYNC_TEST_SEED", str(random.SystemRandom().randrange(10**6))))


@pytest.fixture
def fakes(tls_files: tuple[str, str]) -> Crm:
    crm = start_crm(tls_files, unique_members=False)
    seed_all(crm)
    yield crm  # type: ignore[misc]
    crm.sf_server.stop()
    crm.hs_server.stop()


def _command(config: Path) -> list[str]:
    return [sys.executable, "-m", "sync", "--config", str(config), "run", "--no-progress"]


def _requests(crm: Crm) -> int:
    return len(crm.sf_server.log) + len(crm.hs_server.log)


def _run_and_kill(config: Path, env: dict[str, str], crm: Crm, after_requests: int, extra_delay: float) -> bool:
    """Start a run; SIGKILL it after ``after_requests`` CRM requests. True if killed."""
    start = _requests(crm)
    proc = subprocess.Popen(
        _command(config), cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if _requests(crm) - start >= after_requests:
            time.sleep(extra_delay)
            break
        time.sleep(0.002)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return killed


def _run_to_end(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(config), cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def _mutate(wh: Warehouse, rng: random.Random, iteration: int, versions: dict[int, int]) -> None:
    """Change ~8% of segments (some to nulls) and add triggers for ~5% of customers."""
    for cid in rng.sample(range(1, CUSTOMERS + 1), CUSTOMERS // 12):
        versions[cid] = versions.get(cid, 0) + 1
    rows = []
    for cid in range(1, CUSTOMERS + 1):
        row = segment_row(cid, versions.get(cid, 0))
        if versions.get(cid, 0) % 3 == 2:
            row["channel_segment"] = None
        rows.append(row)
    wh.write_segments(rows)
    day = dt.date.today() - dt.timedelta(days=iteration % 5)
    new = []
    for cid in rng.sample(range(1, CUSTOMERS + 1), CUSTOMERS // 20):
        journey = rng.choice(["winback", "upsell"])
        new.append(
            (
                trigger_id(cid, journey, day) + f"-{iteration}",
                cid,
                f"Customer{cid}@Example.com",
                journey,
                day,
                "test",
                rng.random() < 0.2,
            )
        )
    wh.add_triggers(new)


def _assert_clean_ledger(wh: Warehouse) -> None:
    last = wh.query(
        "SELECT destination, outcome FROM segments_sync.sync_runs "
        "WHERE ended_at IS NOT NULL ORDER BY started_at DESC LIMIT 2"
    )
    assert sorted(o for _, o in last) == ["succeeded", "succeeded"], last
    # Every confirmed contact state matches what the warehouse holds now (the
    # final run found nothing left to send).
    unchanged = wh.query(
        "SELECT n_unchanged, n_created + n_updated FROM segments_sync.sync_runs ORDER BY started_at DESC LIMIT 1"
    )
    assert unchanged[0][0] + unchanged[0][1] == CUSTOMERS


def test_killed_at_random_points_then_rerun_converges(tmp_path: Path, fakes: Crm, tls_files: tuple[str, str]) -> None:
    seed = _seed()
    rng = random.Random(seed)
    wh = build_warehouse(tmp_path / "w.duckdb", CUSTOMERS, triggers_every=7)
    config = write_config(tmp_path, wh, fakes)
    env = child_env(fakes, tls_files)
    fakes.sf.polls_before_complete = 2
    for server in (fakes.sf_server, fakes.hs_server):
        server.latency = 0.004
    versions: dict[int, int] = {}
    killed = 0
    expected_requests = 40  # about what a first sync to both CRMs takes
    for iteration in range(KILL_ITERATIONS):
        if iteration:
            _mutate(wh, rng, iteration, versions)
        for _ in range(1 + (rng.random() < 0.3)):  # sometimes kill the rerun too
            after = rng.randint(0, max(1, expected_requests))
            killed += _run_and_kill(config, env, fakes, after, rng.uniform(0, 0.03))
        before = _requests(fakes)
        done = _run_to_end(config, env)
        assert done.returncode == 0, f"seed {seed}: {done.stdout}\n{done.stderr}"
        expected_requests = max(8, _requests(fakes) - before)
        try:
            assert_everything_synced(wh, fakes)
            _assert_clean_ledger(wh)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}, iteration {iteration}: {exc}") from exc
        assert fakes.sf.duplicate_member_attempts == 0, f"seed {seed}"
    assert killed >= KILL_ITERATIONS // 2, f"seed {seed}: only {killed} runs were killed mid-run"
    interrupted = wh.query("SELECT count(*) FROM segments_sync.sync_runs WHERE outcome IN ('interrupted', 'running')")
    assert interrupted[0][0] >= 1


def _inject_faults(crm: Crm, rng: random.Random, rate: float) -> None:
    def sometimes(r: object) -> bool:
        return rng.random() < rate

    for server in (crm.sf_server, crm.hs_server):
        server.add_fault(Fault(match=sometimes, kind="status", status=503, times=-1))
        server.add_fault(Fault(match=sometimes, kind="drop", times=-1))
        server.add_fault(Fault(match=sometimes, kind="drop_after", times=-1))
    crm.hs_server.add_fault(
        Fault(
            match=lambda r: "/crm/" in r.path and rng.random() < rate,
            status=429,
            times=-1,
            body={
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "policyName": "TEN_SECONDLY_ROLLING",
                "correlationId": "c",
                "category": "RATE_LIMITS",
            },
            headers={"Retry-After": "0.01"},
        )
    )
    crm.hs.input_failure = lambda item: "transient rejection" if rng.random() < rate else None
    crm.sf.row_failure = lambda obj, row: (
        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--" if rng.random() < rate else None
    )
    crm.sf.fail_next_jobs = 1 if rng.random() < 0.5 else 0


def test_faults_then_reruns_reach_the_same_end_state(tmp_path: Path, fakes: Crm, tls_files: tuple[str, str]) -> None:
    seed = _seed()
    rng = random.Random(seed)
    wh = build_warehouse(tmp_path / "w.duckdb", CUSTOMERS, triggers_every=7)
    config = write_config(tmp_path, wh, fakes)
    env = child_env(fakes, tls_files)
    versions: dict[int, int] = {}
    for iteration in range(FAULT_ITERATIONS):
        if iteration:
            _mutate(wh, rng, iteration, versions)
        _inject_faults(fakes, rng, rate=0.08)
        outcomes = []
        for _attempt in range(2):
            result = _run_to_end(config, env)
            outcomes.append(result.returncode)
            if result.returncode == 0:
                break
            assert result.returncode == 1, f"seed {seed}: {result.stdout}\n{result.stderr}"
        # Faults stop (the outage ends): one more run must leave nothing behind.
        fakes.sf_server.clear_faults()
        fakes.hs_server.clear_faults()
        fakes.hs.input_failure = None
        fakes.sf.row_failure = None
        fakes.sf.fail_next_jobs = 0
        final = _run_to_end(config, env)
        assert final.returncode == 0, f"seed {seed}: {final.stdout}\n{final.stderr}"
        try:
            assert_everything_synced(wh, fakes)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}, iteration {iteration}, runs {outcomes}: {exc}") from exc
        assert fakes.sf.duplicate_member_attempts == 0, f"seed {seed}"
    injected = sum(f.hits for s in (fakes.sf_server, fakes.hs_server) for f in s.faults)
    assert injected == 0  # cleared; the hits were counted while active
