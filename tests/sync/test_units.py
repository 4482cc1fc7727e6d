"""Unit tests: the rate limiter, backoff, value formatting, hashing and key validation."""

from __future__ import annotations

import datetime as dt
import decimal
import random

import pytest

from sync.config import MatchKey, RetryPolicy, SalesforceDestination
from sync.ratelimit import Backoff, RateLimiter
from sync.records import format_value, key_expression, payload_for, validate_key, value_hash


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def test_limiter_never_exceeds_budget_in_any_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, 10.0, 0.25, clock=clock, sleep=clock.sleep)
    sends = []
    rng = random.Random(1)
    for _ in range(1000):
        limiter.acquire()
        sends.append(clock.now)
        clock.now += rng.choice([0.0, 0.001, 0.05])  # work between calls
    # Sliding check over every send: at most 100 in any 10.25 s window.
    j = 0
    for i, t in enumerate(sends):
        while sends[j] <= t - 10.25:
            j += 1
        assert i - j + 1 <= 100
    rate = len(sends) / (sends[-1] - sends[0])
    assert rate >= 0.9 * 10, f"throughput {rate:.2f}/s is below 90% of the budget"


def test_limiter_penalty_pauses_and_shrinks() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 10.0, 0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.penalize(3.0)
    waited = limiter.acquire()
    assert waited == pytest.approx(3.0)
    assert limiter.max_requests == 9
    assert limiter.stats.penalties == 1
    for _ in range(20):
        limiter.penalize(0.0)
    assert limiter.max_requests == 5  # never below half the budget


def test_backoff_is_jittered_exponential_and_capped() -> None:
    backoff = Backoff(RetryPolicy(max_attempts=10, base_seconds=0.5, max_seconds=4.0), random.Random(3))
    for attempt in range(1, 10):
        cap = min(4.0, 0.5 * 2 ** (attempt - 1))
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8  # full jitter uses the whole range
    assert Backoff(RetryPolicy(base_seconds=0.0)).delay(3) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  Champions ", "Champions"),
        (True, "true"),
        (3, "3"),
        (0.123456789, "0.1235"),
        (0.5, "0.5"),
        (2.0, "2"),
        (float("nan"), None),
        (decimal.Decimal("12.00"), "12"),
        (decimal.Decimal("0.333333"), "0.3333"),
        (dt.date(2024, 6, 1), "2024-06-01"),
        (dt.datetime(2024, 6, 1, 12, 30), "2024-06-01T12:30:00Z"),
        (dt.datetime(2024, 6, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2024-06-01T12:30:00Z"),
    ],
)
def test_format_value(value: object, expected: str | None) -> None:
    assert format_value(value) == expected


def _dest(field: str = "Customer_Id__c", column: str = "customer_id") -> SalesforceDestination:
    from sync.config import FieldMapping

    return SalesforceDestination(
        name="sf",
        type="salesforce",
        object="Contact",
        match_key=MatchKey(column=column, field=field),
        fields=(
            FieldMapping("value_segment", "Value_Segment__c"),
            FieldMapping("value_confidence", "Value_Confidence__c"),
        ),
        journeys={},
        constants={"LeadSource": "Segments"},
    )


def test_hash_covers_payload_only_and_is_stable() -> None:
    dest = _dest()
    row = {"value_segment": "Loyal", "value_confidence": 0.81234567, "customer_id": 1}
    payload = payload_for(dest, row)
    assert payload == {"Value_Segment__c": "Loyal", "Value_Confidence__c": "0.8123", "LeadSource": "Segments"}
    same = payload_for(dest, {**row, "value_confidence": 0.81234999, "unmapped": "x"})
    assert value_hash(payload) == value_hash(same)
    changed = payload_for(dest, {**row, "value_segment": "At Risk"})
    assert value_hash(payload) != value_hash(changed)
    cleared = payload_for(dest, {**row, "value_segment": None})
    assert value_hash(cleared) != value_hash(payload)


def test_keys_go_out_exactly_as_the_warehouse_holds_them() -> None:
    import duckdb

    from sync.config import FieldMapping

    sf = _dest()
    email = _dest(field="email", column="email")
    con = duckdb.connect()
    con.execute("create table s (customer_id varchar, email varchar)")
    con.execute("insert into s values (' C00042 ', '  Ann@Example.COM ')")
    sql = f"select {key_expression(sf, 'customer_id', 'varchar')}, {key_expression(email, 'email', 'varchar')} from s"
    assert con.execute(sql).fetchall() == [(" C00042 ", "ann@example.com")]
    mapped = SalesforceDestination(
        name="sf",
        type="salesforce",
        object="Contact",
        match_key=MatchKey(column="email", field="Email"),
        fields=(FieldMapping("customer_id", "Customer_Id__c"), FieldMapping("value_segment", "Value_Segment__c")),
        journeys={},
        constants={},
    )
    payload = payload_for(mapped, {"customer_id": "007 ", "value_segment": " Loyal "})
    assert payload == {"Customer_Id__c": "007 ", "Value_Segment__c": "Loyal"}


def test_key_validation() -> None:
    sf = _dest()
    assert validate_key(sf, "42") is None
    assert "null or empty" in (validate_key(sf, None) or "")
    assert "longer than 255" in (validate_key(sf, "x" * 300) or "")
    email = _dest(field="email", column="email")
    assert validate_key(email, "a@b.co") is None
    assert "not an email" in (validate_key(email, "nobody") or "")


def test_hubspot_list_batches_count_distinct_contacts() -> None:
    from types import SimpleNamespace

    from sync.config import HubSpotDestination
    from sync.destinations.base import EnrollmentRequest
    from sync.destinations.hubspot import HubSpotEnrollmentSink

    calls: list[tuple[str, list[str]]] = []

    def call(kind: str, fn: object, list_id: str, ids: list[str]) -> SimpleNamespace:
        calls.append((list_id, ids))
        return SimpleNamespace(record_ids_missing=[])

    dest = HubSpotDestination(
        name="hs",
        type="hubspot",
        object="contacts",
        match_key=MatchKey(column="email", field="email"),
        fields=(),
        journeys={},
        constants={},
        list_batch_size=2,
    )
    sink = HubSpotEnrollmentSink(SimpleNamespace(dest=dest, _call=call, _memberships_api=SimpleNamespace(add=None)))  # type: ignore[arg-type]

    def enroll(trigger: str, list_id: str, contact: str) -> list[str]:
        request = EnrollmentRequest(trigger, list_id, contact, f"k{contact}", "h")
        return [o.key for o in sink.add(request)]

    assert enroll("t1", "L1", "7") == []
    assert enroll("t2", "L1", "7") == []  # the same contact twice is one member
    assert enroll("t3", "L2", "8") == []  # another list keeps its own count
    assert enroll("t4", "L1", "9") == ["t1", "t2", "t4"]
    assert calls == [("L1", ["7", "9"])]
    assert enroll("t5", "L1", "7") == []  # a flushed list counts from zero again
    assert [o.key for o in sink.flush()] == ["t3", "t5"]
    assert calls[1:] == [("L2", ["8"]), ("L1", ["7"])]
    assert sink.unsent() == []


def test_segments_are_counted_only_for_a_progress_display() -> None:
    from sync.config import SyncConfig, WarehouseConfig
    from sync.engine import Engine
    from sync.warehouse import DIALECTS

    class CountingWarehouse:
        dialect = DIALECTS["duckdb"]

        def __init__(self) -> None:
            self.queries: list[str] = []

        def query(self, sql: str) -> list[dict[str, int]]:
            self.queries.append(sql)
            return [{"n": 7}]

    class Bar:
        def start(self, description: str, total: int | None) -> None: ...

        def advance(self, amount: int) -> None: ...

        def stop(self) -> None: ...

    config = SyncConfig(warehouse=WarehouseConfig(), destinations=())
    quiet = CountingWarehouse()
    assert Engine(config, quiet)._total_rows() is None  # type: ignore[arg-type]
    assert quiet.queries == []
    shown = CountingWarehouse()
    assert Engine(config, shown, progress=Bar())._total_rows() == 7  # type: ignore[arg-type]
    assert shown.queries == ["SELECT COUNT(*) AS n FROM main.customer_segments"]
