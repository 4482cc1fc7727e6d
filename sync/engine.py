"""Plan, run and set up a sync for one destination at a time.

A run has two phases. *Contacts*: stream the segments table joined to the
ledger state, reject invalid keys, skip unchanged records, hand changed ones to
the destination's sink and write each batch's outcomes to the ledger as soon as
the destination answers. *Enrollments*: stream journey triggers not yet done,
record control-group members as skipped, and enroll the rest whose contact the
destination has confirmed (the others wait for a later run).

Stopping is always clean: on HubSpot's daily limit or a destination that keeps
failing, the remaining changed records are counted and recorded as ``pending``;
their state was never advanced, so the next run sends them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sync.config import (
    Destination,
    FieldMapping,
    HubSpotDestination,
    SalesforceDestination,
    SyncConfig,
)
from sync.destinations.base import (
    CallStats,
    Connector,
    ContactRequest,
    EnrollmentRequest,
    FieldSpec,
    GiveUp,
    SetupReport,
)
from sync.errors import DailyLimitReached, SyncError
from sync.ledger import Ledger, Outcome, RunCounts
from sync.records import (
    CONTROL_HASH,
    Candidate,
    check_columns,
    contact_candidates,
    contact_columns_needed,
    enrollment_hash,
    format_value,
    key_expression,
    trigger_candidates,
    trigger_columns_needed,
    trigger_key_column,
)
from sync.secrets import redact
from sync.warehouse import Warehouse

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[Destination], Connector]
_OUTCOME_CHUNK = 5000
PREVIOUS_SUFFIX = "_previous_segment"
"""customer_segments' column of the segment before the current one, per view."""


class Progress(Protocol):
    """What the engine reports while it works (the CLI draws a progress bar)."""

    def start(self, description: str, total: int | None) -> None: ...

    def advance(self, amount: int) -> None: ...

    def stop(self) -> None: ...


class _NoProgress:
    def start(self, description: str, total: int | None) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None

    def stop(self) -> None:
        return None


@dataclass
class DestinationPlan:
    """What a run would do for one destination (nothing is sent)."""

    destination: str
    kind: str
    creates: int = 0
    updates: int = 0
    unchanged: int = 0
    invalid: int = 0
    enroll: int = 0
    enroll_waiting_for_contact: int = 0
    control: int = 0
    unmapped_journeys: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)
    invalid_sample: list[tuple[str | None, str]] = field(default_factory=list)
    estimated_calls: dict[str, int] = field(default_factory=dict)


@dataclass
class DestinationResult:
    """What a run did for one destination."""

    destination: str
    kind: str
    run_id: str | None
    outcome: str
    counts: RunCounts
    stats: CallStats
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.counts["failed"] + self.counts["enroll_failed"]


class Engine:
    """Runs plans, syncs and setups against one warehouse."""

    def __init__(
        self,
        config: SyncConfig,
        warehouse: Warehouse,
        connector_factory: ConnectorFactory | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.wh = warehouse
        self.ledger = Ledger(warehouse, config.warehouse.ledger_schema)
        self._factory = connector_factory
        self.progress = progress or _NoProgress()

    # -- shared ------------------------------------------------------------------
    def _check_source(self, dest: Destination) -> None:
        wcfg = self.config.warehouse
        check_columns(self.wh, wcfg.segments_table, contact_columns_needed(dest))
        if self._triggers_enabled(dest):
            assert wcfg.triggers_table is not None
            check_columns(self.wh, wcfg.triggers_table, trigger_columns_needed(dest, wcfg))

    def _total_rows(self) -> int | None:
        """Rows in the segments table, for a progress display (not counted when none is attached)."""
        if isinstance(self.progress, _NoProgress):
            return None
        try:
            rows = self.wh.query(
                f"SELECT COUNT(*) AS n FROM {self.wh.dialect.relation(self.config.warehouse.segments_table)}"
            )
            return int(rows[0]["n"])
        except SyncError:
            return None

    def distinct_values(self, column: str) -> set[str]:
        """Formatted distinct non-null values of a segments column (enumeration options)."""
        rel = self.wh.dialect.relation(self.config.warehouse.segments_table)
        rows = self.wh.query(f"SELECT DISTINCT {column} AS v FROM {rel} WHERE {column} IS NOT NULL")
        values = {format_value(r["v"]) for r in rows}
        return {v for v in values if v is not None}

    def option_values(self, column: str, columns: Mapping[str, str]) -> set[str]:
        """The options of an enumeration field: the column's values, and for ``<view>_previous_segment``
        also the names of ``<view>_segment``, so a first sync, when nobody has moved yet, still
        creates the previous-segment dropdown with every segment a customer can leave."""
        values = self.distinct_values(column)
        if column.lower().endswith(PREVIOUS_SUFFIX):
            current = column.lower().removesuffix(PREVIOUS_SUFFIX) + "_segment"
            if current in columns:
                values |= self.distinct_values(current)
        return values

    def _connector(self, dest: Destination) -> Connector:
        if self._factory is None:
            from sync.destinations import connect

            return connect(dest, self.config.retry)
        return self._factory(dest)

    def _triggers_enabled(self, dest: Destination) -> bool:
        return bool(dest.journeys) and self.config.warehouse.triggers_table is not None

    # -- plan --------------------------------------------------------------------
    def plan(self, dest: Destination, *, full: bool = False) -> DestinationPlan:
        """Count what a run would send; read-only on the warehouse, nothing sent."""
        self._check_source(dest)
        wcfg = self.config.warehouse
        ledger = self.ledger if self.ledger.exists() else None
        result = DestinationPlan(destination=dest.name, kind=dest.type)
        for chunk in contact_candidates(self.wh, wcfg, dest, ledger, ignore_state=full):
            for cand in chunk:
                if cand.invalid_reason:
                    result.invalid += 1
                    if len(result.invalid_sample) < self.config.sample_size:
                        result.invalid_sample.append((cand.key, cand.invalid_reason))
                elif not cand.changed and not full:
                    result.unchanged += 1
                else:
                    if cand.action == "create":
                        result.creates += 1
                    else:
                        result.updates += 1
                    if len(result.sample) < self.config.sample_size:
                        result.sample.append({"key": cand.key, "action": cand.action, **cand.payload})
        if self._triggers_enabled(dest):
            for tchunk in trigger_candidates(self.wh, wcfg, dest, ledger):
                for trig in tchunk:
                    if trig.is_control:
                        result.control += 1
                    elif trig.journey not in dest.journeys:
                        result.unmapped_journeys[trig.journey] = result.unmapped_journeys.get(trig.journey, 0) + 1
                    else:
                        result.enroll += 1
                        if trig.contact_id is None:
                            result.enroll_waiting_for_contact += 1
        changed = result.creates + result.updates
        if isinstance(dest, HubSpotDestination):
            result.estimated_calls = {
                "upsert": math.ceil(changed / dest.batch_size),
                "list_add": math.ceil(result.enroll / dest.list_batch_size) if result.enroll else 0,
                "preflight": 1 + len(dest.journeys),
            }
        else:
            result.estimated_calls = {
                "bulk_jobs": (1 if changed else 0) + (1 if result.enroll else 0),
                "preflight": 1 + (1 if dest.journeys else 0),
            }
        return result

    # -- run ---------------------------------------------------------------------
    def run(self, dest: Destination, *, full: bool = False) -> DestinationResult:
        """Sync one destination; every outcome is in the ledger when this returns."""
        self.ledger.ensure()
        run_id = self.ledger.start_run(dest.name)
        counts = RunCounts()
        result = DestinationResult(dest.name, dest.type, run_id, "running", counts, CallStats())
        connector: Connector | None = None
        try:
            self._check_source(dest)
            connector = self._connector(dest)
            result.stats = connector.stats
            result.notes += connector.preflight(self.distinct_values)
            log.info("%s: run %s, preflight passed %s", dest.name, run_id, "; ".join(result.notes))
            stopped = self._run_contacts(dest, connector, run_id, counts, full)
            log.info(
                "%s: contacts: %d created, %d updated, %d unchanged, %d invalid, %d failed, %d pending",
                dest.name,
                counts["created"],
                counts["updated"],
                counts["unchanged"],
                counts["invalid"],
                counts["failed"],
                counts["pending"],
            )
            if stopped is None and self._triggers_enabled(dest):
                stopped = self._run_enrollments(dest, connector, run_id, counts)
            elif stopped is not None and self._triggers_enabled(dest):
                self._count_pending_enrollments(dest, run_id, counts, stopped)
            if self._triggers_enabled(dest):
                log.info(
                    "%s: journeys: %d enrolled, %d already members, %d control skipped, %d failed, %d waiting",
                    dest.name,
                    counts["enrolled"],
                    counts["already_enrolled"],
                    counts["skipped_control"],
                    counts["enroll_failed"],
                    counts["enroll_pending"],
                )
            if isinstance(stopped, DailyLimitReached):
                result.outcome = "rate_limited"
                result.message = str(stopped)
            elif stopped is not None:
                result.outcome = "failed"
                result.message = redact(stopped)
            elif result.failed:
                result.outcome = "partial"
            else:
                result.outcome = "succeeded"
        except SyncError as exc:
            result.outcome = "failed"
            result.message = redact(exc)
        except Exception as exc:
            log.exception("unexpected error while syncing %s", dest.name)
            result.outcome = "failed"
            result.message = redact(f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            if result.outcome == "running":  # Ctrl-C or SystemExit went through
                result.outcome = "interrupted"
            self.progress.stop()
            counts.api_calls = result.stats.total
            if result.notes and not result.message:
                result.message = "; ".join(result.notes)
            self.ledger.finish_run(run_id, counts, result.outcome, result.message)
            if connector is not None:
                connector.close()
        result.failures = self.ledger.failures(run_id, limit=self.config.sample_size or 5)
        return result

    def _write(self, run_id: str, dest: Destination, outcomes: list[Outcome], counts: RunCounts) -> None:
        if not outcomes:
            return
        for o in outcomes:
            if o.record_type == "contact":
                if o.status == "succeeded":
                    counts.add("created" if o.action == "create" else "updated")
                elif o.status == "failed":
                    counts.add("failed")
                elif o.status == "pending":
                    counts.add("pending")
                elif o.status == "rejected":
                    counts.add("invalid")
            else:
                if o.status == "succeeded":
                    counts.add("already_enrolled" if o.action == "already_member" else "enrolled")
                elif o.status == "skipped":
                    counts.add("skipped_control")
                elif o.status == "failed":
                    counts.add("enroll_failed")
                elif o.status == "pending":
                    counts.add("enroll_pending")
                elif o.status == "rejected":
                    counts.add("invalid")
        self.ledger.write_outcomes(run_id, dest.name, outcomes)

    def _write_all(self, run_id: str, dest: Destination, outcomes: Iterable[Outcome], counts: RunCounts) -> None:
        """Write a possibly long stream of outcomes in chunks (memory stays flat)."""
        chunk: list[Outcome] = []
        for outcome in outcomes:
            chunk.append(outcome)
            if len(chunk) >= _OUTCOME_CHUNK:
                self._write(run_id, dest, chunk, counts)
                chunk = []
        self._write(run_id, dest, chunk, counts)

    def _run_contacts(
        self, dest: Destination, connector: Connector, run_id: str, counts: RunCounts, full: bool
    ) -> Exception | None:
        wcfg = self.config.warehouse
        sink = connector.contact_sink()
        stopped: Exception | None = None
        buffered: list[Outcome] = []
        self.progress.start(f"{dest.name}: contacts", self._total_rows())

        def pending(req: ContactRequest, why: str) -> Outcome:
            return Outcome("contact", req.key, req.guess_action, "pending", req.value_hash, error=why)

        def stop(exc: Exception) -> None:
            nonlocal stopped
            stopped = exc
            buffered.extend(pending(r, redact(exc)) for r in sink.unsent())

        def send(call: Callable[..., Iterable[Outcome]], *args: ContactRequest) -> None:
            """Write what a sink call answers; stop the phase cleanly if the destination says so."""
            try:
                self._write_all(run_id, dest, call(*args), counts)
            except DailyLimitReached as exc:
                stop(exc)
            except GiveUp as exc:
                self._write(run_id, dest, exc.outcomes, counts)
                stop(exc)

        for chunk in contact_candidates(self.wh, wcfg, dest, self.ledger, ignore_state=full):
            for cand in chunk:
                counts.add("considered")
                if cand.invalid_reason:
                    buffered.append(
                        Outcome("contact", cand.key or "", cand.action, "rejected", error=cand.invalid_reason)
                    )
                    continue
                if not cand.changed and not full:
                    counts.add("unchanged")
                    continue
                request = _request(cand)
                if stopped is not None:
                    buffered.append(pending(request, redact(stopped)))
                    continue
                send(sink.add, request)
            self._write(run_id, dest, buffered, counts)
            buffered = []
            self.progress.advance(len(chunk))
        if stopped is None:
            send(sink.flush)
        self._write(run_id, dest, buffered, counts)
        self.progress.stop()
        return stopped

    def _enrollment_requests(self, dest: Destination, run_id: str, counts: RunCounts) -> Iterator[EnrollmentRequest]:
        """Yield enrollable triggers; record control, invalid and waiting ones on the way."""
        wcfg = self.config.warehouse
        unmapped: dict[str, int] = {}
        for chunk in trigger_candidates(self.wh, wcfg, dest, self.ledger):
            side: list[Outcome] = []
            for trig in chunk:
                if trig.is_control:
                    side.append(Outcome("enrollment", trig.trigger_id, "skip_control", "skipped", CONTROL_HASH))
                    continue
                target = dest.journeys.get(trig.journey)
                if target is None:
                    unmapped[trig.journey] = unmapped.get(trig.journey, 0) + 1
                    continue
                if not trig.customer_key:
                    side.append(
                        Outcome(
                            "enrollment",
                            trig.trigger_id,
                            "enroll",
                            "rejected",
                            error="trigger has no value in the match key column",
                        )
                    )
                    continue
                if trig.contact_id is None:
                    side.append(
                        Outcome(
                            "enrollment",
                            trig.trigger_id,
                            "enroll",
                            "pending",
                            error="waiting for the contact to be confirmed by the destination",
                        )
                    )
                    continue
                yield EnrollmentRequest(
                    trigger_id=trig.trigger_id,
                    target_id=target,
                    contact_id=str(trig.contact_id),
                    customer_key=trig.customer_key,
                    value_hash=enrollment_hash(target),
                )
            self._write(run_id, dest, side, counts)
            self.progress.advance(len(chunk))
        if unmapped:
            log.info(
                "%s: journeys without a target are skipped: %s",
                dest.name,
                ", ".join(f"{j} ({n})" for j, n in sorted(unmapped.items())),
            )

    def _run_enrollments(
        self, dest: Destination, connector: Connector, run_id: str, counts: RunCounts
    ) -> Exception | None:
        sink = connector.enrollment_sink()
        stopped: Exception | None = None
        self.progress.start(f"{dest.name}: journeys", None)

        def send(call: Callable[..., list[Outcome]], *args: EnrollmentRequest) -> None:
            """Write what a sink call answers; stop the phase cleanly if the destination says so."""
            nonlocal stopped
            try:
                self._write(run_id, dest, call(*args), counts)
            except (DailyLimitReached, GiveUp) as exc:
                stopped = exc
                self._write(run_id, dest, [_pending_enroll(r, exc) for r in sink.unsent()], counts)

        try:
            for request in self._enrollment_requests(dest, run_id, counts):
                if stopped is not None:
                    self._write(run_id, dest, [_pending_enroll(request, stopped)], counts)
                    continue
                send(sink.add, request)
            if stopped is None:
                send(sink.flush)
        finally:
            if sink.stale_contacts:
                self._forget_contacts(dest, sink.stale_contacts)
            self.progress.stop()
        return stopped

    def _forget_contacts(self, dest: Destination, keys: set[str]) -> None:
        """The CRM lost these contacts: re-create them and redo their enrollments.

        Deleting a contact in the CRM also removes its campaign/list
        memberships, so the confirmed enrollments of those customers are
        forgotten as well and are redone once the contact exists again.
        """
        self.ledger.forget(dest.name, "contact", keys)
        wcfg = self.config.warehouse
        if wcfg.triggers_table is None:
            return
        key = key_expression(dest, trigger_key_column(dest, wcfg), self.wh.dialect.string_type, alias="t")
        self.ledger.forget_enrollments(dest.name, keys, wcfg.triggers_table, wcfg.trigger_columns.trigger_id, key)

    def _count_pending_enrollments(self, dest: Destination, run_id: str, counts: RunCounts, why: Exception) -> None:
        requests = self._enrollment_requests(dest, run_id, counts)
        outcomes = [_pending_enroll(r, why) for r in requests]
        self._write(run_id, dest, outcomes, counts)

    # -- setup -------------------------------------------------------------------
    def field_specs(self, dest: Destination) -> list[FieldSpec]:
        """The CRM fields a destination needs, typed from the warehouse columns."""
        columns = check_columns(self.wh, self.config.warehouse.segments_table, contact_columns_needed(dest))
        specs: list[FieldSpec] = []
        key = dest.match_key
        if isinstance(dest, SalesforceDestination) or key.field != "email":
            specs.append(FieldSpec(name=key.field, label=_label(key.field, None), type="text", unique=True))
        for mapping in dest.fields:
            kind = _infer_type(mapping, columns.get(mapping.column.lower(), ""), dest)
            options: tuple[str, ...] = ()
            if kind == "enumeration":
                options = tuple(sorted(self.option_values(mapping.column, columns)))
                if len(options) > 1000:
                    kind = "text"
                    options = ()
            specs.append(
                FieldSpec(name=mapping.field, label=_label(mapping.column, mapping), type=kind, options=options)
            )
        return specs

    def setup(self, dest: Destination, permission_set: str | None = None) -> SetupReport:
        self._check_source(dest)
        connector = self._connector(dest)
        try:
            return connector.setup(self.field_specs(dest), permission_set)
        finally:
            connector.close()


def _request(cand: Candidate) -> ContactRequest:
    assert cand.key is not None
    return ContactRequest(key=cand.key, payload=cand.payload, value_hash=cand.value_hash, guess_action=cand.action)


def _pending_enroll(req: EnrollmentRequest, why: Exception) -> Outcome:
    return Outcome("enrollment", req.trigger_id, "enroll", "pending", req.value_hash, error=redact(why))


def _label(column: str, mapping: FieldMapping | None) -> str:
    if mapping is not None and mapping.label:
        return mapping.label
    text = column.removesuffix("__c").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _infer_type(mapping: FieldMapping, column_type: str, dest: Destination) -> str:
    if mapping.type != "auto":
        return mapping.type
    t = column_type.upper()
    if "INT" in t:
        return "number"
    if any(word in t for word in ("DOUBLE", "FLOAT", "DECIMAL", "NUMERIC", "REAL")):
        return "decimal"
    if t == "DATE":
        return "date"
    if "BOOL" in t:
        return "boolean"
    if isinstance(dest, HubSpotDestination) and any(word in t for word in ("CHAR", "TEXT", "STRING")):
        # Segment names: an enumeration makes them filterable in lists and workflows.
        return "enumeration"
    return "text"
