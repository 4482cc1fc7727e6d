"""What the engine hands to a destination, and what a destination hands back.

The engine streams records; a destination *sink* buffers them in whatever unit
its API wants (HubSpot: 100 per call; Salesforce: one Bulk job per run) and
returns an :class:`~sync.ledger.Outcome` per record once the destination has
answered for it. Only outcomes with status ``succeeded`` (or ``skipped``)
advance the ledger state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sync.ledger import Outcome


class GiveUp(Exception):
    """The destination keeps failing: stop the run and record the rest as pending.

    ``outcomes`` are the results of the last batch, which the engine still records.
    """

    def __init__(self, outcomes: list[Outcome], message: str) -> None:
        super().__init__(message)
        self.outcomes = outcomes


@dataclass
class ContactRequest:
    """One changed record to create or update."""

    key: str
    payload: Mapping[str, str | None]
    value_hash: str
    guess_action: str


@dataclass
class EnrollmentRequest:
    """One journey trigger to turn into a campaign or list membership."""

    trigger_id: str
    target_id: str
    contact_id: str
    customer_key: str
    value_hash: str


@dataclass(frozen=True)
class FieldSpec:
    """A CRM field the setup command makes sure exists."""

    name: str
    label: str
    type: str  # text, enumeration, number, decimal, date, boolean
    options: tuple[str, ...] = ()
    unique: bool = False


@dataclass
class SetupReport:
    """What ``setup`` did, and what a human still has to do."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)


@dataclass
class CallStats:
    """API calls by kind, plus retries and rate-limit waits, for summaries and benches."""

    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    jobs: Counter[str] = field(default_factory=Counter)
    renewed_logins: int = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class ContactSink(Protocol):
    def add(self, request: ContactRequest) -> list[Outcome]:
        """Buffer ``request``; return outcomes of anything sent as a result."""
        ...

    def flush(self) -> Iterable[Outcome]:
        """Send what is buffered; return its outcomes (possibly lazily, for large jobs)."""
        ...

    def unsent(self) -> list[ContactRequest]:
        """Requests buffered but not sent (after the run had to stop)."""
        ...


class EnrollmentSink(Protocol):
    stale_contacts: set[str]

    def add(self, request: EnrollmentRequest) -> list[Outcome]: ...

    def flush(self) -> list[Outcome]: ...

    def unsent(self) -> list[EnrollmentRequest]: ...


DistinctValues = Callable[[str], set[str]]


class Connector(Protocol):
    """A connected destination."""

    stats: CallStats

    def preflight(self, distinct_values: DistinctValues) -> list[str]:
        """Check the destination is set up for this config; return notes, raise if not."""
        ...

    def contact_sink(self) -> ContactSink: ...

    def enrollment_sink(self) -> EnrollmentSink: ...

    def setup(self, specs: list[FieldSpec], permission_set: str | None = None) -> SetupReport: ...

    def close(self) -> None: ...
