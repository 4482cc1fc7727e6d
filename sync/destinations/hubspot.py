"""HubSpot contacts and lists through ``hubspot-api-client``.

Upserts go in batches of at most 100 through ``crm.contacts.batch_api.upsert``
with ``idProperty`` set to ``email`` or a unique custom property, and with an
``objectWriteTraceId`` per input so a 207 multi-status answer can be matched to
records: a record is confirmed only when its result comes back; one missing
from both results and errors counts as failed and is retried next run. A 400
for the whole batch is split in halves until the bad records are isolated, so
one invalid value does not hold back 99 good ones.

Every request goes through :meth:`HubSpotConnector._call`, which waits for the
:class:`~sync.ratelimit.RateLimiter`, honours 429 by ``policyName`` (rolling
window: wait and retry; ``DAILY``: raise :class:`~sync.errors.DailyLimitReached`
so the run stops cleanly) and retries 5xx and connection errors with jittered
backoff: the client's own urllib3 retry is switched off because it never
retries POST.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sync.config import HubSpotDestination, RetryPolicy
from sync.destinations.base import (
    CallStats,
    ContactRequest,
    DistinctValues,
    EnrollmentRequest,
    FieldSpec,
    GiveUp,
    SetupReport,
)
from sync.errors import DailyLimitReached, DestinationError
from sync.ledger import Outcome
from sync.ratelimit import Backoff, RateLimiter
from sync.secrets import HubSpotCredentials, redact

log = logging.getLogger(__name__)

_MAX_RATE_LIMIT_RETRIES = 30
_MAX_CONSECUTIVE_BATCH_FAILURES = 3


class HubSpotRequestError(DestinationError):
    """A 4xx answer other than 401/403/429, or a transient error that outlived its retries.

    A destination error like any other: where nothing handles it (preflight, setup), the
    run fails with HubSpot's message instead of crashing with a traceback."""

    def __init__(self, status: int, message: str, category: str | None = None, body: Any = None) -> None:
        super().__init__(redact(message))
        self.status = status
        self.category = category
        self.body = body


@dataclass
class _HttpFailure:
    status: int
    body: Any
    headers: dict[str, str]
    message: str
    category: str | None


def _decode_body(raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def _failure_from(exc: Exception) -> _HttpFailure | None:
    """Extract status/body from any hubspot sub-package's ApiException."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or status == 0:
        return None
    body = _decode_body(getattr(exc, "body", None))
    headers_raw = getattr(exc, "headers", None) or {}
    try:
        headers = {str(k).lower(): str(v) for k, v in dict(headers_raw).items()}
    except (TypeError, ValueError):
        headers = {}
    message = ""
    category = None
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        category = body.get("category") or body.get("errorType")
        details = [str(e.get("message")) for e in body.get("errors") or [] if isinstance(e, dict)]
        if details:
            message = f"{message} ({'; '.join(details)})" if message else "; ".join(details)
    elif body:
        message = str(body)[:500]
    return _HttpFailure(status, body, headers, message or getattr(exc, "reason", "") or "", category)


def _is_connection_error(exc: Exception) -> bool:
    import urllib3

    return isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError)


class HubSpotConnector:
    """A HubSpot account, reached with a private-app token."""

    def __init__(
        self,
        dest: HubSpotDestination,
        credentials: HubSpotCredentials,
        retry: RetryPolicy,
        *,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff: Backoff | None = None,
    ) -> None:
        from hubspot import HubSpot
        from urllib3.util.retry import Retry

        self.dest = dest
        self.retry = retry
        self.stats = CallStats()
        self._sleep = sleep
        self._backoff = backoff or Backoff(retry)
        self.limiter = limiter or RateLimiter(
            dest.rate_limit.effective_per_window,
            10.0,
            dest.rate_limit.window_margin_seconds,
        )
        options: dict[str, Any] = {}
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
        if ca_bundle:
            options["ssl_ca_cert"] = ca_bundle
        # total=0: urllib3 must not retry on its own (it skips POST anyway);
        # every retry decision is made in _call, under the rate limiter.
        client = HubSpot(
            access_token=credentials.access_token,
            host=dest.api_base_url,
            retry=Retry(total=0, connect=0, read=0, redirect=0, status=0, other=0, raise_on_status=False),
            **options,
        )
        # Each property access builds a new ApiClient: keep one of each.
        self._batch_api = client.crm.contacts.batch_api
        self._properties_api = client.crm.properties.core_api
        self._groups_api = client.crm.properties.groups_api
        self._lists_api = client.crm.lists.lists_api
        self._memberships_api = client.crm.lists.memberships_api

    # -- transport -----------------------------------------------------------
    def _call(self, kind: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` under the rate limiter with 429 and transient-error handling."""
        attempt = 0
        rate_limited = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            self.stats.calls[kind] += 1
            try:
                return fn(*args, _request_timeout=self.dest.request_timeout_seconds, **kwargs)
            except Exception as exc:
                failure = _failure_from(exc)
                if failure is None:
                    if not _is_connection_error(exc):
                        raise
                    reason = f"connection error: {type(exc).__name__}"
                elif failure.status == 429:
                    policy = ""
                    if isinstance(failure.body, dict):
                        policy = str(failure.body.get("policyName") or "")
                    if policy.upper() == "DAILY":
                        raise DailyLimitReached(
                            "HubSpot daily API limit reached (429, policy DAILY): the run "
                            "stops here and the remaining records are sent on the next run"
                        ) from None
                    rate_limited += 1
                    self.stats.rate_limited += 1
                    if rate_limited > _MAX_RATE_LIMIT_RETRIES:
                        raise HubSpotRequestError(
                            429, f"still rate limited after {rate_limited - 1} waits ({policy})"
                        ) from None
                    wait = self._rate_limit_wait(failure.headers, rate_limited)
                    log.info("HubSpot 429 (%s): waiting %.1fs", policy or "rolling", wait)
                    self.limiter.penalize(wait)
                    attempt -= 1  # a rate-limit wait is not a failed attempt
                    continue
                elif failure.status in (401, 403):
                    raise DestinationError(
                        f"HubSpot refused the request ({failure.status}): "
                        f"{redact(failure.message)}. Check HUBSPOT_ACCESS_TOKEN and that the "
                        "private app has the crm.objects.contacts.read/write, "
                        "crm.schemas.contacts.read/write and crm.lists.read/write scopes."
                    ) from None
                elif failure.status >= 500:
                    reason = f"HTTP {failure.status}"
                else:
                    raise HubSpotRequestError(failure.status, failure.message, failure.category, failure.body) from None
                if attempt >= self.retry.max_attempts:
                    raise HubSpotRequestError(
                        0 if failure is None else failure.status,
                        f"{reason}; gave up after {attempt} attempts",
                    ) from None
                delay = self._backoff.delay(attempt)
                self.stats.retries += 1
                log.info("HubSpot %s on %s: retry %d in %.2fs", reason, kind, attempt, delay)
                self._sleep(delay)

    def _rate_limit_wait(self, headers: dict[str, str], count: int) -> float:
        retry_after = headers.get("retry-after")
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        # Without a hint, wait a growing share of the window (1s, 2s, 4s… max 10s).
        return min(10.0, 2.0 ** (count - 1))

    # -- preflight and setup -----------------------------------------------
    def _all_properties(self) -> dict[str, Any]:
        response = self._call("properties", self._properties_api.get_all, "contacts")
        return {p.name: p for p in response.results or []}

    def preflight(self, distinct_values: DistinctValues) -> list[str]:
        """Check properties and lists exist; add enumeration options for new segments."""
        notes: list[str] = []
        props = self._all_properties()
        key = self.dest.match_key.field
        if key not in props:
            raise DestinationError(
                f"HubSpot contact property {key!r} (match key of {self.dest.name}) does not "
                "exist: run `segments sync setup`"
            )
        if key != "email" and not getattr(props[key], "has_unique_value", False):
            raise DestinationError(
                f"HubSpot property {key!r} is not unique (hasUniqueValue false): batch upsert "
                "needs email or a unique property as idProperty"
            )
        missing = [m.field for m in self.dest.fields if m.field not in props]
        missing += [c for c in self.dest.constants if c not in props]
        if missing:
            raise DestinationError(
                f"HubSpot contact properties missing for {self.dest.name}: "
                f"{', '.join(missing)}. Run `segments sync setup` to create them."
            )
        for mapping in self.dest.fields:
            prop = props[mapping.field]
            if getattr(prop, "type", None) != "enumeration":
                continue
            options = {o.value for o in prop.options or []}
            wanted = distinct_values(mapping.column)
            new = sorted(wanted - options)
            if not new:
                continue
            if not self.dest.auto_add_options:
                raise DestinationError(
                    f"HubSpot property {mapping.field} has no option(s) {', '.join(new)}; run "
                    "`segments sync setup` or set auto_add_options: true"
                )
            self._add_options(prop, new)
            notes.append(f"added option(s) {', '.join(new)} to {mapping.field}")
        for journey, list_id in self.dest.journeys.items():
            try:
                fetched = self._call("lists", self._lists_api.get_by_id, list_id)
            except HubSpotRequestError as exc:
                raise DestinationError(f"HubSpot list {list_id} (journey {journey}) cannot be read: {exc}") from None
            processing = getattr(fetched.list, "processing_type", None)
            if processing not in ("MANUAL", "SNAPSHOT"):
                raise DestinationError(
                    f"HubSpot list {list_id} (journey {journey}) is {processing}: only MANUAL or "
                    "SNAPSHOT lists accept membership adds"
                )
        return notes

    def _add_options(self, prop: Any, new_values: Iterable[str]) -> None:
        from hubspot.crm.properties import OptionInput, PropertyUpdate

        existing = list(prop.options or [])
        options = [
            OptionInput(
                label=o.label,
                value=o.value,
                hidden=bool(o.hidden),
                display_order=o.display_order,
                description=o.description,
            )
            for o in existing
        ]
        start = len(options)
        for i, value in enumerate(new_values):
            options.append(OptionInput(label=value, value=value, hidden=False, display_order=start + i))
        self._call(
            "properties",
            self._properties_api.update,
            "contacts",
            prop.name,
            PropertyUpdate(options=options),
        )

    def setup(self, specs: list[FieldSpec], permission_set: str | None = None) -> SetupReport:
        """Create the property group and properties; add new enumeration options."""
        from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate

        report = SetupReport()
        group = self.dest.property_group
        try:
            self._call("properties", self._groups_api.get_by_name, "contacts", group)
            report.unchanged.append(f"property group {group}")
        except HubSpotRequestError as exc:
            if exc.status != 404:
                raise DestinationError(f"cannot read HubSpot property group {group}: {exc}") from None
            self._call(
                "properties",
                self._groups_api.create,
                "contacts",
                PropertyGroupCreate(name=group, label=self.dest.property_group_label, display_order=-1),
            )
            report.created.append(f"property group {group}")
        props = self._all_properties()
        for spec in specs:
            existing = props.get(spec.name)
            hs_type, field_type = _hubspot_type(spec.type)
            if existing is None:
                options = [
                    OptionInput(label=v, value=v, hidden=False, display_order=i) for i, v in enumerate(spec.options)
                ]
                if spec.type == "boolean":
                    options = [
                        OptionInput(label="Yes", value="true", hidden=False, display_order=0),
                        OptionInput(label="No", value="false", hidden=False, display_order=1),
                    ]
                try:
                    self._call(
                        "properties",
                        self._properties_api.create,
                        "contacts",
                        PropertyCreate(
                            name=spec.name,
                            label=spec.label,
                            type=hs_type,
                            field_type=field_type,
                            group_name=group,
                            options=options or None,
                            has_unique_value=spec.unique or None,
                            description="Written by segments sync from the warehouse.",
                        ),
                    )
                    report.created.append(f"property {spec.name} ({hs_type})")
                except HubSpotRequestError as exc:
                    report.errors.append(f"property {spec.name}: {exc}")
                continue
            if existing.type != hs_type:
                report.errors.append(
                    f"property {spec.name} exists with type {existing.type}, expected {hs_type}: "
                    "rename the field in the config or change the property in HubSpot"
                )
                continue
            if spec.unique and not getattr(existing, "has_unique_value", False):
                report.errors.append(f"property {spec.name} exists but is not unique; it cannot be the match key")
                continue
            if hs_type == "enumeration" and spec.type == "enumeration":
                present = {o.value for o in existing.options or []}
                new = [v for v in spec.options if v not in present]
                if new:
                    self._add_options(existing, new)
                    report.updated.append(f"property {spec.name}: added {', '.join(new)}")
                    continue
            report.unchanged.append(f"property {spec.name}")
        report.instructions.append(
            "The HubSpot private app needs the scopes crm.objects.contacts.read, "
            "crm.objects.contacts.write, crm.schemas.contacts.read, crm.schemas.contacts.write, "
            "crm.lists.read and crm.lists.write."
        )
        if self.dest.journeys:
            report.instructions.append(
                "Journey lists must be MANUAL (static) contact lists: "
                + ", ".join(f"{j} -> {lid}" for j, lid in self.dest.journeys.items())
            )
        return report

    # -- sinks ----------------------------------------------------------------
    def contact_sink(self) -> HubSpotContactSink:
        return HubSpotContactSink(self)

    def enrollment_sink(self) -> HubSpotEnrollmentSink:
        return HubSpotEnrollmentSink(self)

    def close(self) -> None:
        for api in (self._batch_api, self._properties_api, self._groups_api, self._lists_api, self._memberships_api):
            try:
                api.api_client.close()
            except Exception as exc:  # best effort at shutdown
                log.debug("closing HubSpot client: %s", exc)


def _hubspot_type(kind: str) -> tuple[str, str]:
    return {
        "enumeration": ("enumeration", "select"),
        "number": ("number", "number"),
        "decimal": ("number", "number"),
        "date": ("date", "date"),
        "boolean": ("bool", "booleancheckbox"),
    }.get(kind, ("string", "text"))


class HubSpotContactSink:
    """Buffers up to ``batch_size`` contacts and upserts them in one call."""

    def __init__(self, connector: HubSpotConnector) -> None:
        self.connector = connector
        self.dest = connector.dest
        self._buffer: list[ContactRequest] = []
        self._consecutive_failures = 0

    def add(self, request: ContactRequest) -> list[Outcome]:
        self._buffer.append(request)
        if len(self._buffer) >= self.dest.batch_size:
            return self.flush()
        return []

    def flush(self) -> list[Outcome]:
        if not self._buffer:
            return []
        batch = self._buffer
        outcomes = self._send(batch)
        # Only forget the batch once it has been answered (or failed for good):
        # a DailyLimitReached leaves it in the buffer for unsent().
        self._buffer = []
        if outcomes and all(o.status == "failed" for o in outcomes):
            self._consecutive_failures += 1
            if self._consecutive_failures >= _MAX_CONSECUTIVE_BATCH_FAILURES:
                raise GiveUp(outcomes, "HubSpot failed 3 batches in a row; stopping the run")
        else:
            self._consecutive_failures = 0
        return outcomes

    def unsent(self) -> list[ContactRequest]:
        return list(self._buffer)

    def _send(self, batch: list[ContactRequest]) -> list[Outcome]:
        from hubspot.crm.contacts import (
            BatchInputSimplePublicObjectBatchInputUpsert,
            SimplePublicObjectBatchInputUpsert,
        )

        key_prop = self.dest.match_key.field
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id=req.key,
                id_property=key_prop,
                object_write_trace_id=str(i),
                properties={k: ("" if v is None else v) for k, v in req.payload.items()},
            )
            for i, req in enumerate(batch)
        ]
        try:
            response = self.connector._call(
                "upsert",
                self.connector._batch_api.upsert,
                BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs),
            )
        except HubSpotRequestError as exc:
            if exc.status in (400, 409, 422) and len(batch) > 1:
                # One bad value fails the whole batch: split to isolate it.
                middle = len(batch) // 2
                return self._send(batch[:middle]) + self._send(batch[middle:])
            return [_failed(req, str(exc)) for req in batch]
        return self._match(batch, response)

    def _match(self, batch: list[ContactRequest], response: Any) -> list[Outcome]:
        key_prop = self.dest.match_key.field
        by_trace = {str(i): req for i, req in enumerate(batch)}
        by_key = {req.key: req for req in batch}
        results: dict[str, Outcome] = {}
        for item in response.results or []:
            req = by_trace.get(str(item.object_write_trace_id)) if item.object_write_trace_id else None
            if req is None:
                value = (item.properties or {}).get(key_prop)
                if value is not None:
                    if key_prop == "email":
                        req = by_key.get(value.strip().lower())
                    else:  # keys are opaque; a CRM that trimmed the value still matches
                        req = by_key.get(value) or by_key.get(value.strip())
            if req is None:
                continue
            results[req.key] = Outcome(
                record_type="contact",
                key=req.key,
                action="create" if item.new else "update",
                status="succeeded",
                value_hash=req.value_hash,
                destination_id=str(item.id),
            )
        for error in getattr(response, "errors", None) or []:
            context = error.context or {}
            refs = list(context.get("objectWriteTraceId") or [])
            reqs = [by_trace[r] for r in refs if r in by_trace]
            reqs += [by_key[k] for k in context.get("ids") or [] if k in by_key]
            message = redact(getattr(error, "message", "") or "rejected by HubSpot")
            for req in reqs:
                if req.key not in results:
                    results[req.key] = _failed(req, message)
        return [
            results.get(req.key) or _failed(req, "HubSpot did not confirm this record in its batch response")
            for req in batch
        ]


def _failed(req: ContactRequest, error: str) -> Outcome:
    return Outcome(
        record_type="contact",
        key=req.key,
        action=req.guess_action,
        status="failed",
        value_hash=req.value_hash,
        error=error,
    )


class HubSpotEnrollmentSink:
    """Adds contacts to manual lists; HubSpot ignores existing members, so repeats are safe."""

    def __init__(self, connector: HubSpotConnector) -> None:
        self.connector = connector
        self.dest = connector.dest
        self._buffers: dict[str, list[EnrollmentRequest]] = {}
        # The distinct contact ids in each list's buffer, kept beside it.
        self._contact_ids: dict[str, set[str]] = {}
        self.stale_contacts: set[str] = set()

    def add(self, request: EnrollmentRequest) -> list[Outcome]:
        self._buffers.setdefault(request.target_id, []).append(request)
        contact_ids = self._contact_ids.setdefault(request.target_id, set())
        contact_ids.add(request.contact_id)
        if len(contact_ids) >= self.dest.list_batch_size:
            return self._flush_list(request.target_id)
        return []

    def flush(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for list_id in list(self._buffers):
            outcomes += self._flush_list(list_id)
        return outcomes

    def unsent(self) -> list[EnrollmentRequest]:
        return [r for buf in self._buffers.values() for r in buf]

    def _flush_list(self, list_id: str) -> list[Outcome]:
        batch = self._buffers.get(list_id) or []
        if not batch:
            return []
        ids = sorted(self._contact_ids[list_id])
        try:
            response = self.connector._call("list_add", self.connector._memberships_api.add, list_id, ids)
        except HubSpotRequestError as exc:
            self._forget_list(list_id)
            return [_enroll_outcome(r, "failed", str(exc)) for r in batch]
        self._forget_list(list_id)
        missing = {str(i) for i in response.record_ids_missing or []}
        outcomes = []
        for req in batch:
            if req.contact_id in missing:
                self.stale_contacts.add(req.customer_key)
                outcomes.append(
                    _enroll_outcome(
                        req,
                        "failed",
                        f"contact {req.contact_id} no longer exists in HubSpot; it will be "
                        "re-created and enrolled on the next run",
                    )
                )
            else:
                outcomes.append(_enroll_outcome(req, "succeeded"))
        return outcomes

    def _forget_list(self, list_id: str) -> None:
        self._buffers.pop(list_id, None)
        self._contact_ids.pop(list_id, None)


def _enroll_outcome(req: EnrollmentRequest, status: str, error: str | None = None) -> Outcome:
    return Outcome(
        record_type="enrollment",
        key=req.trigger_id,
        action="enroll",
        status=status,  # type: ignore[arg-type]
        value_hash=req.value_hash,
        destination_id=f"{req.target_id}:{req.contact_id}" if status == "succeeded" else None,
        error=error,
    )
