"""Segment history end to end: a monthly backfill on demo data, checked independently.

One module-scoped backfill of six monthly dates (real dbt, real segmentation) feeds
every test here. The checks recount from segment_history in Python rather than
trusting the SQL under test: transition matrices must reconcile exactly, migrations
must be exactly the customers whose segment changed, journey triggers must honour
ids, control groups and cool-downs, and re-running any date must change nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from segmentation.backfill import backfill_command
from tests.dbt_harness import REPO_ROOT, dbt_env, query_duckdb, run_dbt

pytestmark = pytest.mark.dbt

CUSTOMERS = 1500
SEED = 11
DATES = [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
# Data tests run once at the end (test_history_data_tests_pass) instead of on every date.
FAST_BUILD = ["--", "--exclude", "resource_type:test", "resource_type:unit_test"]
RECORDED = [
    "segment_history",
    "segment_migrations",
    "segment_transitions",
    "segment_stay_rates",
    "segment_transition_reconciliation",
    "segment_drift_reference",
    "segment_drift",
    "segment_drift_status",
    "journey_triggers",
    "journey_summary",
]


@dataclass(frozen=True)
class Backfilled:
    path: Path
    output: str


def backfill(path: Path, start: date, end: date) -> str:
    env = dbt_env(path)
    # the file and the profiles come from the command's own options only
    del env["SEGMENTS_DUCKDB_PATH"]
    profiles = env.pop("DBT_PROFILES_DIR")
    result = CliRunner(env=env).invoke(
        backfill_command,
        [
            "--start", start.isoformat(), "--end", end.isoformat(), "--every", "month",
            "--duckdb", str(path), "--project-dir", str(REPO_ROOT), "--profiles-dir", profiles,
            *FAST_BUILD,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    from segmentation.demo import generate_demo_data

    path = tmp_path_factory.mktemp("history") / "history.duckdb"
    generate_demo_data(path, customers=CUSTOMERS, seed=SEED)
    output = backfill(path, DATES[0], DATES[-1])
    yield Backfilled(path, output)


def table_hashes(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash of every recorded table."""
    hashes = {}
    for table in RECORDED:
        rows = query_duckdb(path, f"select cast(t as varchar) from main.{table} as t")
        digest = hashlib.sha256("\n".join(sorted(r[0] for r in rows)).encode()).hexdigest()
        hashes[table] = (len(rows), digest)
    return hashes


def history_by_date(path: Path) -> dict[tuple[str, date], dict[int, int]]:
    """(view, as_of_date) -> {customer_id: segment_id}."""
    out: dict[tuple[str, date], dict[int, int]] = defaultdict(dict)
    for view, as_of, customer, segment in query_duckdb(
        path, "select view, as_of_date, customer_id, segment_id from main.segment_history"
    ):
        out[(view, as_of)][customer] = segment
    return out


def test_backfill_reports_progress_for_every_date(backfilled: Backfilled) -> None:
    for position, as_of in enumerate(DATES, start=1):
        assert f"[{position}/6] {as_of.isoformat()} ok in" in backfilled.output
    assert "backfill: 6 date(s) built in" in backfilled.output


def test_history_holds_every_date_and_view_once(backfilled: Backfilled) -> None:
    rows = query_duckdb(
        backfilled.path,
        "select as_of_date, view, count(*), count(distinct customer_id) from main.segment_history group by 1, 2",
    )
    assert {(r[0], r[1]) for r in rows} == {(d, v) for d in DATES for v in ("value", "behavioral", "channel", "rfm")}
    assert all(r[2] == r[3] for r in rows), "a customer appears twice in a view on one date"
    in_scope = dict(
        query_duckdb(
            backfilled.path, "select as_of_date, count(*) from main.segment_history where view = 'rfm' group by 1"
        )
    )
    assert all(count == in_scope[as_of] for as_of, _, count, _ in rows), "views disagree on who is in scope"
    assert in_scope[DATES[-1]] > in_scope[DATES[0]], "demo data should gain customers over the months"


def test_transition_matrices_reconcile_exactly_with_history(backfilled: Backfilled) -> None:
    history = history_by_date(backfilled.path)
    cells: dict[tuple[str, date, date], dict[tuple[int | None, int | None], int]] = defaultdict(dict)
    for view, from_date, to_date, source, target, customers in query_duckdb(
        backfilled.path,
        "select view, from_date, to_date, from_segment_id, to_segment_id, customers from main.segment_transitions",
    ):
        cells[(view, from_date, to_date)][(source, target)] = customers
    pairs = list(pairwise(DATES))
    assert set(cells) == {(v, a, b) for v in ("value", "behavioral", "channel", "rfm") for a, b in pairs}
    for (view, from_date, to_date), matrix in cells.items():
        before, after = history[(view, from_date)], history[(view, to_date)]
        expected: dict[tuple[int | None, int | None], int] = defaultdict(int)
        for customer in before.keys() | after.keys():
            expected[(before.get(customer), after.get(customer))] += 1
        assert matrix == dict(expected), f"{view} {from_date} -> {to_date}"
        assert sum(matrix.values()) == len(before.keys() | after.keys())


def test_migrations_are_exactly_the_changes(backfilled: Backfilled) -> None:
    history = history_by_date(backfilled.path)
    recorded = {
        (view, to_date, customer): (source, target, kind)
        for view, to_date, customer, source, target, kind in query_duckdb(
            backfilled.path,
            "select view, to_date, customer_id, from_segment_id, to_segment_id, migration_type"
            " from main.segment_migrations",
        )
    }
    expected = {}
    for view in ("value", "behavioral", "channel", "rfm"):
        for from_date, to_date in pairwise(DATES):
            before, after = history[(view, from_date)], history[(view, to_date)]
            for customer in before.keys() | after.keys():
                source, target = before.get(customer), after.get(customer)
                if customer not in before:
                    expected[(view, to_date, customer)] = (None, target, "entry")
                elif customer not in after:
                    expected[(view, to_date, customer)] = (source, None, "exit")
                elif source != target:
                    expected[(view, to_date, customer)] = (source, target, "move")
    assert recorded == expected
    assert any(kind == "entry" for _, _, kind in recorded.values())
    assert sum(1 for _, _, kind in recorded.values() if kind == "move") > 100


def test_reconciliation_audit_agrees(backfilled: Backfilled) -> None:
    rows = query_duckdb(
        backfilled.path,
        "select count(*), count(*) filter (where customers_in_cells <> customers_on_either_date"
        " or customers_in_from_cells <> customers_on_from_date or customers_in_to_cells <> customers_on_to_date)"
        " from main.segment_transition_reconciliation",
    )
    assert rows == [(4 * (len(DATES) - 1), 0)]


def test_journey_triggers_ids_control_and_cool_down(backfilled: Backfilled) -> None:
    rules = {
        journey: (cooldown, pct)
        for journey, cooldown, pct in query_duckdb(
            backfilled.path, "select distinct journey, cooldown_days, control_pct from main.segments__journey_rules"
        )
    }
    triggers = query_duckdb(
        backfilled.path,
        "select trigger_id, customer_id, journey, triggered_on, is_control, email from main.journey_triggers",
    )
    assert len(triggers) > 100
    assert {t[2] for t in triggers} >= {"win_back", "loyalty_invite"}
    emails = dict(query_duckdb(backfilled.path, "select customer_id, email from main.customer_features"))
    last: dict[tuple[int, str], date] = {}
    for trigger_id, customer, journey, triggered_on, is_control, email in sorted(triggers, key=lambda t: t[3]):
        assert trigger_id == hashlib.md5(f"{customer}|{journey}|{triggered_on.isoformat()}".encode()).hexdigest()
        bucket = int(hashlib.md5(f"{customer}|{journey}".encode()).hexdigest()[:7], 16) % 100
        assert is_control == (bucket < rules[journey][1])
        assert email == emails.get(customer)
        previous = last.get((customer, journey))
        if previous is not None:
            assert (triggered_on - previous).days >= rules[journey][0], (customer, journey, previous, triggered_on)
        last[(customer, journey)] = triggered_on


def test_drift_is_zero_against_itself_and_tracked_per_date(backfilled: Backfilled) -> None:
    status = query_duckdb(
        backfilled.path,
        "select as_of_date, view, model_version, reference_as_of_date, max_feature_psi, segment_share_psi,"
        " features_checked from main.segment_drift_status",
    )
    assert {(r[0], r[1]) for r in status} == {(d, v) for d in DATES for v in ("value", "behavioral", "channel")}
    for as_of, view, _, reference_date, feature_psi, share_psi, checked in status:
        assert checked > 0, view
        if as_of == reference_date:
            # the reference was captured from these very customers
            assert feature_psi == pytest.approx(0.0, abs=1e-12)
            assert share_psi == pytest.approx(0.0, abs=1e-12)
        else:
            assert feature_psi >= 0.0
    first = [r for r in status if r[0] == DATES[0]]
    assert all(r[3] == DATES[0] for r in first), "the first date's models are referenced on their training date"


def test_feature_psi_matches_an_independent_computation(backfilled: Backfilled) -> None:
    """Re-derive the last date's PSI of every numeric feature from the stored reference bins."""
    last = DATES[-1]
    drift = {
        (view, measure): (version, psi)
        for view, measure, version, psi in query_duckdb(
            backfilled.path,
            "select view, measure, model_version, psi from main.segment_drift"
            f" where as_of_date = date '{last.isoformat()}' and measure_type = 'feature'",
        )
    }
    reference: dict[tuple[str, int, str], list[tuple[int, float | None, float]]] = defaultdict(list)
    for view, version, measure, bin_, lower, share in query_duckdb(
        backfilled.path,
        "select view, model_version, measure, bin, lower_edge, share from main.segment_drift_reference"
        " where binning = 'deciles' order by bin",
    ):
        reference[(view, version, measure)].append((bin_, lower, share))
    checked = 0
    for (view, measure), (version, psi) in drift.items():
        bins = reference[(view, version, measure)]
        edges = [lower for bin_, lower, _ in bins if bin_ >= 1]
        values = [r[0] for r in query_duckdb(backfilled.path, f'select "{measure}" from main.customer_features')]
        counts: dict[int, int] = defaultdict(int)
        for value in values:
            counts[-1 if value is None else sum(1 for edge in edges if edge is not None and float(value) >= edge)] += 1
        then = {bin_: share for bin_, _, share in bins}
        expected = 0.0
        for bin_ in then.keys() | counts.keys():
            now_share = max(counts.get(bin_, 0) / len(values), 1e-4)
            then_share = max(then.get(bin_, 0.0), 1e-4)
            expected += (now_share - then_share) * math.log(now_share / then_share)
        assert psi == pytest.approx(expected, rel=1e-9, abs=1e-12), (view, measure)
        checked += 1
    assert checked >= 20


def test_rerunning_any_date_changes_nothing(backfilled: Backfilled) -> None:
    before = table_hashes(backfilled.path)
    assert before["segment_history"][0] > 0 and before["journey_triggers"][0] > 0
    for as_of in (DATES[2], DATES[-1]):
        backfill(backfilled.path, as_of, as_of)
        assert table_hashes(backfilled.path) == before, f"re-running {as_of} changed a recorded table"


_ABSENT = object()


def expected_since(path: Path, as_of: date) -> dict[tuple[object, str], tuple[object, date]]:
    """(customer, view) -> (previous segment, since), walking each customer's history back from ``as_of``.

    Previous is the segment id (the RFM cell's name for 'rfm'); it is None when the run of
    the current segment reaches back to the customer's first date or to a date they were
    out of scope.
    """
    rows = query_duckdb(
        path,
        "select view, as_of_date, customer_id, case when view = 'rfm' then segment_name "
        "else cast(segment_id as varchar) end from main.segment_history where as_of_date <= ?",
        [as_of],
    )
    history: dict[tuple[str, date], dict[object, object]] = defaultdict(dict)
    for view, day, customer, segment in rows:
        history[(view, day)][customer] = segment
    dates = sorted({day for _, day in history}, reverse=True)
    out = {}
    for (view, day), members in history.items():
        if day != as_of:
            continue
        for customer, current in members.items():
            since, previous = as_of, None
            for earlier in dates[1:]:
                seen = history[(view, earlier)].get(customer, _ABSENT)
                if seen != current:
                    previous = None if seen is _ABSENT else seen
                    break
                since = earlier
            out[(customer, view)] = (previous, since)
    return out


def check_previous_and_since(path: Path) -> int:
    """Every customer_segments row against expected_since; returns how many moved at least once."""
    columns = ", ".join(
        f"cast({v}_previous_segment_id as varchar), {v}_segment_since" for v in ("value", "behavioral", "channel")
    )
    rows = query_duckdb(
        path,
        f"select customer_id, as_of_date, {columns}, rfm_previous_segment, rfm_segment_since "
        "from main.customer_segments",
    )
    (as_of,) = {row[1] for row in rows}
    want = expected_since(path, as_of)
    moved = 0
    for row in rows:
        customer = row[0]
        for position, view in enumerate(("value", "behavioral", "channel", "rfm")):
            previous, since = row[2 + 2 * position], row[3 + 2 * position]
            assert (previous, since) == want[(customer, view)], (customer, view, as_of)
            moved += previous is not None
    return moved


def test_previous_segment_and_since_follow_the_history(backfilled: Backfilled) -> None:
    assert check_previous_and_since(backfilled.path) > 100
    # Rebuilding an earlier date while later history exists, then the latest again.
    for as_of in (DATES[2], DATES[-1]):
        backfill(backfilled.path, as_of, as_of)
        assert check_previous_and_since(backfilled.path) > 0


def test_history_data_tests_pass(backfilled: Backfilled) -> None:
    result = run_dbt(
        ["test", "--select", "path:models/history", "path:models/activation", "path:seeds/segments__journey_rules.csv"],
        backfilled.path,
    )
    assert result.ok, result.output
    assert "transitions_reconcile_with_customers_on_either_date" in result.output


def test_control_share_holds_on_a_large_sample(tmp_path: Path) -> None:
    """60,000 customers enter Champions at once; four journeys hold out 5 %, 10 %, 25 % and 50 %.

    The upstream relations are fabricated, so only the trigger logic runs. The realised
    control shares must sit within four binomial standard errors of the configured ones,
    the journey_control_share_within_tolerance data test must pass, and it must fail
    once a share is off.
    """
    path = tmp_path / "control.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table main.int_segments__as_of_date as select date '2026-03-01' as as_of_date")
    con.execute(
        "create table main.customer_features as"
        " select range as customer_id, 'c' || range || '@example.com' as email from range(60000)"
    )
    con.execute(
        """
        create table main.segment_migrations as
        select range as customer_id, 'rfm' as view, date '2026-02-01' as from_date, date '2026-03-01' as to_date,
               7 as from_segment_id, 'Loyal' as from_segment_name, 4 as to_segment_id,
               'Champions' as to_segment_name, 'move' as migration_type
        from range(60000)
        """
    )
    con.execute(
        """
        create table main.segments__journey_rules as
        select 'holdout_' || pct as journey, 'enter_segment' as trigger_type, 'rfm' as view,
               cast(null as varchar) as from_segment, 'Champions' as to_segment, 30 as cooldown_days,
               pct as control_pct, 'control share check' as description
        from (values (5), (10), (25), (50)) as t(pct)
        """
    )
    con.close()

    built = run_dbt(
        ["build", "--select", "journey_triggers", "journey_summary", "--exclude-resource-type", "unit_test"], path
    )
    assert built.ok, built.output
    assert "journey_control_share_within_tolerance" in built.output
    shares = query_duckdb(path, "select journey, control_pct, triggers, control_share from main.journey_summary")
    assert len(shares) == 4
    for journey, pct, triggers, share in shares:
        assert triggers == 60000, journey
        p = pct / 100
        assert abs(share - p) <= 4 * (p * (1 - p) / triggers) ** 0.5, (journey, share)

    con = duckdb.connect(str(path))
    con.execute("update main.journey_summary set control_share = 0.45 where journey = 'holdout_50'")
    con.close()
    broken = run_dbt(["test", "--select", "journey_summary"], path)
    assert not broken.ok
    assert "journey_control_share_within_tolerance" in broken.output
