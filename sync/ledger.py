"""The sync ledger, kept in the warehouse next to the segments it describes.

Three tables in the ledger schema (``segments_sync`` by default):

``sync_state``
    One row per destination and record (a contact, or an enrollment keyed by
    ``trigger_id``): the hash of the values the destination last *confirmed*
    and the destination's ID for it. A row is written only after the
    destination confirmed that record, so the state can never run ahead of
    the CRM. Anything without a matching hash is sent again next run.
``sync_runs``
    One row per run and destination: start, end, counts and outcome. A run
    killed mid-way keeps ``outcome = 'running'`` and no end time; the next run
    marks it ``interrupted``.
``sync_records``
    One row per record acted on in a run: action (create, update, enroll,
    skip_control…), destination ID, status and the destination's error.

The warehouse is the system of record: there are no local state files.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sync.config import Relation
from sync.secrets import redact
from sync.warehouse import TableColumn, Warehouse

RecordType = Literal["contact", "enrollment"]
Status = Literal["succeeded", "failed", "rejected", "pending", "skipped"]

STATE_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("destination", "string"),
    TableColumn("record_type", "string"),
    TableColumn("record_key", "string"),
    TableColumn("value_hash", "string"),
    TableColumn("destination_id", "string"),
    TableColumn("confirmed_at", "timestamp"),
    TableColumn("run_id", "string"),
)
STATE_KEY = ("destination", "record_type", "record_key")

RUN_COUNTERS: tuple[str, ...] = (
    "considered",
    "created",
    "updated",
    "unchanged",
    "invalid",
    "failed",
    "pending",
    "enrolled",
    "already_enrolled",
    "skipped_control",
    "enroll_failed",
    "enroll_pending",
)

RUN_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("run_id", "string"),
    TableColumn("destination", "string"),
    TableColumn("started_at", "timestamp"),
    TableColumn("ended_at", "timestamp"),
    TableColumn("outcome", "string"),
    *(TableColumn(f"n_{name}", "integer") for name in RUN_COUNTERS),
    TableColumn("api_calls", "integer"),
    TableColumn("message", "string"),
)

RECORD_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("run_id", "string"),
    TableColumn("destination", "string"),
    TableColumn("record_type", "string"),
    TableColumn("record_key", "string"),
    TableColumn("action", "string"),
    TableColumn("destination_id", "string"),
    TableColumn("status", "string"),
    TableColumn("error", "string"),
    TableColumn("recorded_at", "timestamp"),
)

_MAX_ERROR_CHARS = 2000


def now() -> dt.datetime:
    """Naive UTC timestamp (warehouse TIMESTAMP columns carry no zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class Outcome:
    """What happened to one record in one run."""

    record_type: RecordType
    key: str
    action: str
    status: Status
    value_hash: str | None = None
    destination_id: str | None = None
    error: str | None = None


@dataclass
class RunCounts:
    """Counters of one run for one destination."""

    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RUN_COUNTERS, 0))
    api_calls: int = 0

    def add(self, name: str, amount: int = 1) -> None:
        self.values[name] = self.values.get(name, 0) + amount

    def __getitem__(self, name: str) -> int:
        return self.values.get(name, 0)


class Ledger:
    """Reads and writes the ledger tables through a :class:`Warehouse`."""

    def __init__(self, warehouse: Warehouse, schema: str) -> None:
        self.wh = warehouse
        self.schema = schema
        self.state = Relation((schema, "sync_state"))
        self.runs = Relation((schema, "sync_runs"))
        self.records = Relation((schema, "sync_records"))

    # -- setup -------------------------------------------------------------
    def exists(self) -> bool:
        return self.wh.exists(self.state) and self.wh.exists(self.runs)

    def ensure(self) -> None:
        """Create the schema and tables if they do not exist (idempotent)."""
        d = self.wh.dialect
        self.wh.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")

        def cols(columns: Sequence[TableColumn]) -> str:
            return ", ".join(f"{c.name} {d.type_for(c.kind)}" for c in columns)

        pk = ""
        if d.name in ("duckdb", "postgres"):
            # Enforced keys where the warehouse supports them, for ON CONFLICT.
            pk = f", PRIMARY KEY ({', '.join(STATE_KEY)})"
        self.wh.execute(f"CREATE TABLE IF NOT EXISTS {d.relation(self.state)} ({cols(STATE_COLUMNS)}{pk})")
        self.wh.execute(f"CREATE TABLE IF NOT EXISTS {d.relation(self.runs)} ({cols(RUN_COLUMNS)})")
        self.wh.execute(f"CREATE TABLE IF NOT EXISTS {d.relation(self.records)} ({cols(RECORD_COLUMNS)})")

    # -- runs --------------------------------------------------------------
    def start_run(self, destination: str) -> str:
        """Record the start of a run; runs left ``running`` become ``interrupted``."""
        lit = self.wh.dialect.literal
        rel = self.wh.dialect.relation(self.runs)
        self.wh.execute(
            f"UPDATE {rel} SET outcome = 'interrupted' WHERE destination = {lit(destination)} AND outcome = 'running'"
        )
        run_id = f"{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        row: list[Any] = [run_id, destination, now(), None, "running"]
        row += [0] * len(RUN_COUNTERS)
        row += [0, None]
        self.wh.insert_rows(self.runs, RUN_COLUMNS, [row])
        return run_id

    def finish_run(self, run_id: str, counts: RunCounts, outcome: str, message: str | None = None) -> None:
        lit = self.wh.dialect.literal
        sets = [f"ended_at = {lit(now())}", f"outcome = {lit(outcome)}"]
        sets += [f"n_{name} = {int(counts[name])}" for name in RUN_COUNTERS]
        sets.append(f"api_calls = {int(counts.api_calls)}")
        sets.append(f"message = {lit(redact(message)[:_MAX_ERROR_CHARS] if message else None)}")
        self.wh.execute(
            f"UPDATE {self.wh.dialect.relation(self.runs)} SET {', '.join(sets)} WHERE run_id = {lit(run_id)}"
        )

    # -- records and state -------------------------------------------------
    def write_outcomes(self, run_id: str, destination: str, outcomes: Iterable[Outcome]) -> None:
        """Persist outcomes: a sync_records row each; state for confirmed ones.

        The state rows are written first: if the process dies between the two
        writes, the CRM and the state agree and only the audit row is missing.
        """
        items = list(outcomes)
        if not items:
            return
        stamp = now()
        confirmed = [
            (destination, o.record_type, o.key, o.value_hash, o.destination_id, stamp, run_id)
            for o in items
            if o.status in ("succeeded", "skipped") and o.value_hash is not None
        ]
        if confirmed:
            self.wh.upsert_rows(self.state, STATE_KEY, STATE_COLUMNS, confirmed)
        rows = [
            (
                run_id,
                destination,
                o.record_type,
                o.key,
                o.action,
                o.destination_id,
                o.status,
                redact(o.error)[:_MAX_ERROR_CHARS] if o.error else None,
                stamp,
            )
            for o in items
        ]
        self.wh.insert_rows(self.records, RECORD_COLUMNS, rows)

    def forget(self, destination: str, record_type: RecordType, keys: Iterable[str]) -> None:
        """Drop state rows so the records are sent again (e.g. deleted in the CRM)."""
        self._delete_state(destination, record_type, keys, lambda listed: listed)

    def forget_enrollments(
        self, destination: str, keys: Iterable[str], triggers: Relation, trigger_id: str, key: str
    ) -> None:
        """Drop the enrollment state of the triggers in ``triggers`` (alias ``t``) whose ``key`` is in ``keys``."""
        d = self.wh.dialect
        select = f"SELECT CAST(t.{trigger_id} AS {d.string_type}) FROM {d.relation(triggers)} t WHERE {key} IN "
        self._delete_state(destination, "enrollment", keys, lambda listed: f"{select}({listed})")

    def _delete_state(
        self, destination: str, record_type: RecordType, keys: Iterable[str], record_keys: Callable[[str], str]
    ) -> None:
        """Delete state rows whose record_key is in ``record_keys(listed keys)``, 500 keys at a time."""
        key_list = sorted(set(keys))
        lit = self.wh.dialect.literal
        rel = self.wh.dialect.relation(self.state)
        for start in range(0, len(key_list), 500):
            listed = ", ".join(lit(k) for k in key_list[start : start + 500])
            self.wh.execute(
                f"DELETE FROM {rel} WHERE destination = {lit(destination)} "
                f"AND record_type = {lit(record_type)} "
                f"AND record_key IN ({record_keys(listed)})"
            )

    def reset(self, destination: str) -> None:
        """Forget every confirmed record of ``destination`` (forces a full resend)."""
        lit = self.wh.dialect.literal
        self.wh.execute(f"DELETE FROM {self.wh.dialect.relation(self.state)} WHERE destination = {lit(destination)}")

    # -- reading -----------------------------------------------------------
    def last_runs(self, destination: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        lit = self.wh.dialect.literal
        where = f"WHERE destination = {lit(destination)} " if destination else ""
        return self.wh.query(
            f"SELECT * FROM {self.wh.dialect.relation(self.runs)} {where}ORDER BY started_at DESC LIMIT {int(limit)}"
        )

    def failures(self, run_id: str, limit: int = 20) -> list[dict[str, Any]]:
        lit = self.wh.dialect.literal
        return self.wh.query(
            f"SELECT record_type, record_key, action, status, error "
            f"FROM {self.wh.dialect.relation(self.records)} "
            f"WHERE run_id = {lit(run_id)} AND status IN ('failed', 'rejected') "
            f"ORDER BY record_type, record_key LIMIT {int(limit)}"
        )

    def state_counts(self) -> list[dict[str, Any]]:
        return self.wh.query(
            f"SELECT destination, record_type, COUNT(*) AS n "
            f"FROM {self.wh.dialect.relation(self.state)} "
            f"GROUP BY destination, record_type ORDER BY destination, record_type"
        )
