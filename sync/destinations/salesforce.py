"""Salesforce Contact or Lead through ``simple-salesforce`` and Bulk API 2.0.

Contacts: every changed record of a run goes into one CSV file and one Bulk 2.0
upsert job on the external-ID field (``sf.bulk2.<Object>.upsert``). The job's
``successfulResults``, ``failedResults`` and ``unprocessedrecords`` are read
back and matched to records *by the external-ID value*, since Salesforce does
not keep the input order. Null values are sent as ``#N/A``, which is how Bulk
API clears a field (an empty cell leaves it unchanged).

Journeys: a trigger becomes a CampaignMember. Before inserting, existing
members of the campaigns are queried with SOQL and skipped, so a rerun after a
crash never inserts a member twice; Salesforce's own ``DUPLICATE_VALUE`` answer
is treated as "already enrolled" as a second line of defence.

``simple-salesforce`` has no retries of its own: the connector gives it a
:class:`RetryingSession` that retries 5xx answers and dropped connections with
jittered exponential backoff. Sessions time out (after two hours without a call by
default, sooner under an org's policy), so a username/password login logs in again
when Salesforce answers 401 and repeats the call; a given access token cannot be
renewed here, so its expiry stops the run with a message saying so.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import requests

from sync.config import RetryPolicy, SalesforceDestination
from sync.destinations.base import (
    CallStats,
    ContactRequest,
    DistinctValues,
    EnrollmentRequest,
    FieldSpec,
    SetupReport,
)
from sync.errors import DestinationError
from sync.ledger import Outcome
from sync.ratelimit import Backoff
from sync.secrets import SalesforceCredentials, clean_error, redact

log = logging.getLogger(__name__)
_T = TypeVar("_T")

NULL_VALUE = "#N/A"
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
_METADATA_BATCH = 10


class RetryingSession(requests.Session):
    """A ``requests`` session that retries transient failures and counts calls."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__()
        self.policy = policy
        self._sleep = sleep
        self._backoff = backoff or Backoff(policy)
        self.stats = CallStats()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", (30, 300))
        attempt = 0
        while True:
            attempt += 1
            self.stats.calls[_call_kind(str(method), str(url))] += 1
            try:
                response = super().request(_text(method), _text(url), *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                if attempt >= self.policy.max_attempts:
                    raise
                reason = type(exc).__name__
            else:
                transient = response.status_code in _TRANSIENT_STATUS
                if response.status_code == 500 and "/services/Soap/" in _text(url):
                    transient = False  # SOAP reports every fault (bad login…) as HTTP 500
                if not transient or attempt >= self.policy.max_attempts:
                    return response
                reason = f"HTTP {response.status_code}"
            delay = self._backoff.delay(attempt)
            self.stats.retries += 1
            log.info("Salesforce %s on %s: retry %d in %.2fs", reason, method, attempt, delay)
            self._sleep(delay)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _call_kind(method: str, url: str) -> str:
    path = url.split("?", 1)[0]
    if "/jobs/ingest" in path:
        return "bulk"
    if "/query" in path:
        return "query"
    if "/Soap/" in path:
        return "soap"
    return "rest"


class SalesforceConnector:
    """A Salesforce org reached with a session or a username/password login."""

    def __init__(
        self,
        dest: SalesforceDestination,
        credentials: SalesforceCredentials,
        retry: RetryPolicy,
        *,
        session: RetryingSession | None = None,
    ) -> None:
        self.dest = dest
        self.session = session or RetryingSession(retry)
        self.stats = self.session.stats
        self._credentials = credentials
        self.sf = self._login()
        self._workdir = Path(tempfile.mkdtemp(prefix="segments-sync-sf-"))

    # -- helpers ---------------------------------------------------------------
    def _login(self) -> Any:
        from simple_salesforce import Salesforce
        from simple_salesforce.exceptions import SalesforceAuthenticationFailed

        credentials = self._credentials
        try:
            if credentials.uses_session:
                return Salesforce(
                    instance_url=credentials.instance_url,
                    session_id=credentials.access_token,
                    version=self.dest.api_version,
                    session=self.session,
                )
            return Salesforce(
                username=credentials.username,
                password=credentials.password,
                security_token=credentials.security_token,
                domain=credentials.domain,
                version=self.dest.api_version,
                session=self.session,
            )
        except SalesforceAuthenticationFailed as exc:
            raise DestinationError(
                f"Salesforce login failed: {redact(exc)}. Check SALESFORCE_USERNAME, "
                "SALESFORCE_PASSWORD, SALESFORCE_SECURITY_TOKEN and SALESFORCE_DOMAIN."
            ) from None
        except requests.RequestException as exc:
            raise DestinationError(f"cannot reach Salesforce: {redact(exc)}") from None

    def with_session(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn``; if the session has expired and a password login can renew it, log in again and rerun it once.

        ``fn`` must reach Salesforce through ``self.sf`` when it runs (not a handle
        taken before), so the rerun uses the new session. Every call is safe to
        repeat: queries and describes read, a Bulk upsert keyed on the external ID
        writes the same values again, and a repeated CampaignMember insert is
        answered DUPLICATE_VALUE, which counts as enrolled.
        """
        from simple_salesforce.exceptions import SalesforceExpiredSession

        try:
            return fn()
        except SalesforceExpiredSession:
            if self._credentials.uses_session:
                raise DestinationError(
                    "Salesforce rejected the session (401): refresh SALESFORCE_ACCESS_TOKEN "
                    "or use username/password login, which renews itself"
                ) from None
            log.info("Salesforce session expired: logging in again")
            self.sf = self._login()
            self.stats.renewed_logins += 1
            return fn()

    def _guard(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run a REST call; turn auth and transport failures into clear errors."""
        from simple_salesforce.exceptions import (
            SalesforceError,
            SalesforceExpiredSession,
            SalesforceResourceNotFound,
        )

        try:
            return self.with_session(fn)
        except SalesforceExpiredSession:
            raise DestinationError(
                f"Salesforce rejected a freshly renewed session while {what} (401): "
                "check the integration user's session settings"
            ) from None
        except SalesforceResourceNotFound as exc:
            raise DestinationError(f"Salesforce: not found while {what}: {redact(exc)}") from None
        except (SalesforceError, requests.RequestException) as exc:
            raise DestinationError(f"Salesforce error while {what}: {redact(exc)}") from None

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        result = self._guard("querying", lambda: self.sf.query_all(soql))
        return list(result.get("records", []))

    @property
    def member_field(self) -> str:
        return "ContactId" if self.dest.object == "Contact" else "LeadId"

    # -- preflight and setup -----------------------------------------------------
    def preflight(self, distinct_values: DistinctValues) -> list[str]:
        """Check the object's fields (describe) and the journey campaigns exist."""
        described = self._guard(f"describing {self.dest.object}", lambda: getattr(self.sf, self.dest.object).describe())
        fields = {f["name"].lower(): f for f in described.get("fields", [])}
        key = self.dest.match_key.field
        key_meta = fields.get(key.lower())
        if key_meta is None:
            raise DestinationError(
                f"Salesforce {self.dest.object} has no field {key} (match key of "
                f"{self.dest.name}): run `segments sync setup`"
            )
        if not key_meta.get("externalId"):
            raise DestinationError(
                f"Salesforce field {self.dest.object}.{key} is not an External ID field; "
                "Bulk upsert needs one (run `segments sync setup` or mark it External ID)"
            )
        wanted = [m.field for m in self.dest.fields] + list(self.dest.constants)
        missing = [f for f in wanted if f.lower() not in fields]
        if missing:
            raise DestinationError(
                f"Salesforce {self.dest.object} is missing field(s) {', '.join(missing)}: run "
                "`segments sync setup`, then grant field-level security to the integration user"
            )
        readonly = [f for f in wanted if not fields[f.lower()].get("updateable", True)]
        if readonly:
            raise DestinationError(
                f"Salesforce fields not writable by this user: {', '.join(readonly)} "
                "(grant Edit in field-level security or the sync permission set)"
            )
        campaigns = sorted(set(self.dest.journeys.values()))
        if campaigns:
            found = self.query_all(
                "SELECT Id, Name, IsActive FROM Campaign WHERE Id IN ("
                + ", ".join(_soql_str(c) for c in campaigns)
                + ")"
            )
            found_ids = {str(r["Id"])[:15] for r in found}
            absent = [f"{journey} -> {cid}" for journey, cid in self.dest.journeys.items() if cid[:15] not in found_ids]
            if absent:
                raise DestinationError(f"Salesforce Campaign(s) not found for journeys: {', '.join(absent)}")
        return []

    def setup(self, specs: list[FieldSpec], permission_set: str | None = None) -> SetupReport:
        """Create or update the custom fields with the Metadata API; say what to grant."""
        report = SetupReport()
        obj = self.dest.object
        md = self._guard("opening the Metadata API", lambda: self.sf.mdapi)
        custom = [s for s in specs if s.name.endswith("__c")]
        for spec in specs:
            if not spec.name.endswith("__c"):
                report.unchanged.append(f"{obj}.{spec.name} (standard field, not created)")
        for start in range(0, len(custom), _METADATA_BATCH):
            chunk = custom[start : start + _METADATA_BATCH]
            metadata = [md.CustomField(**_custom_field(obj, spec)) for spec in chunk]
            try:
                md.CustomField.upsert(metadata)
            except Exception as exc:  # mdapi raises a bare Exception listing failures
                report.errors.append(f"custom fields {', '.join(s.name for s in chunk)}: {redact(exc).strip()}")
                continue
            report.updated.extend(f"{obj}.{s.name}" for s in chunk)
        field_names = [f"{obj}.{s.name}" for s in custom]
        if permission_set and field_names:
            try:
                md.PermissionSet.upsert(
                    [
                        md.PermissionSet(
                            fullName=permission_set,
                            label=permission_set.replace("_", " "),
                            fieldPermissions=[
                                md.PermissionSetFieldPermissions(field=name, editable=True, readable=True)
                                for name in field_names
                            ],
                        )
                    ]
                )
                report.updated.append(f"permission set {permission_set}")
            except Exception as exc:
                report.errors.append(f"permission set {permission_set}: {redact(exc).strip()}")
        ps = permission_set or "Segments_Sync"
        report.instructions += [
            "Field-level security: new custom fields are hidden until granted. Give the "
            f"integration user Read and Edit on {', '.join(field_names) or 'the mapped fields'}"
            f" (Setup > Object Manager > {obj} > Fields > Set Field-Level Security), or through "
            f"the permission set {ps}"
            + ("" if permission_set else " (create it with `segments sync setup --permission-set Segments_Sync`)")
            + ".",
            f"Assign the permission set: `sf org assign permset --name {ps}` or Setup > Users > "
            "Permission Set Assignments.",
            f"Object permissions for the integration user: Read, Create, Edit on {obj}; Read on "
            "Campaign; Read, Create on CampaignMember; the user needs 'API Enabled' and, for "
            "campaigns, the 'Marketing User' checkbox.",
        ]
        if obj in ("Contact", "Lead"):
            required = "LastName" if obj == "Contact" else "LastName and Company"
            report.instructions.append(
                f"Creating a {obj} requires {required}: map a column to it or set it under "
                "`constants` (constants are written on every upsert of a changed record)."
            )
        return report

    # -- sinks -------------------------------------------------------------------
    def contact_sink(self) -> SalesforceContactSink:
        return SalesforceContactSink(self)

    def enrollment_sink(self) -> SalesforceEnrollmentSink:
        return SalesforceEnrollmentSink(self)

    def bulk(self, object_name: str) -> Any:
        return getattr(self.sf.bulk2, object_name)

    def run_bulk(self, object_name: str, operation: str, **kwargs: Any) -> Any:
        """``sf.bulk2.<object_name>.<operation>(**kwargs)``, through a fresh session if the old one expired."""
        return self.with_session(lambda: getattr(self.bulk(object_name), operation)(**kwargs))

    def job_results(self, object_name: str, job_id: str) -> Iterator[tuple[str, dict[str, str]]]:
        """Yield (kind, row) for every successful, failed and unprocessed row of a job."""
        for kind, getter in (
            ("success", "get_successful_records"),
            ("failed", "get_failed_records"),
            ("unprocessed", "get_unprocessed_records"),
        ):
            path = self._workdir / f"{job_id}-{kind}.csv"

            def download(get: str = getter, target: Path = path) -> Any:
                return getattr(self.bulk(object_name), get)(job_id, file=str(target))

            self._guard(f"reading {kind} results of job {job_id}", download)
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    yield kind, row
            path.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)
        self.session.close()


def _soql_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _custom_field(obj: str, spec: FieldSpec) -> dict[str, Any]:
    base: dict[str, Any] = {
        "fullName": f"{obj}.{spec.name}",
        "label": spec.label[:40],
        "description": "Written by segments sync from the warehouse.",
    }
    if spec.type == "number":
        base.update(type="Number", precision=18, scale=0)
    elif spec.type == "decimal":
        base.update(type="Number", precision=18, scale=4)
    elif spec.type == "date":
        base.update(type="Date")
    elif spec.type == "boolean":
        base.update(type="Checkbox", defaultValue="false")
    else:
        base.update(type="Text", length=255)
    if spec.unique:
        base.update(type="Text", length=255, externalId=True, unique=True, caseSensitive=False)
    return base


class SalesforceContactSink:
    """Collects the run's changed records into one CSV, then one Bulk upsert job."""

    def __init__(self, connector: SalesforceConnector) -> None:
        self.connector = connector
        self.dest = connector.dest
        self.columns = [self.dest.match_key.field, *(m.field for m in self.dest.fields), *self.dest.constants]
        fd, name = tempfile.mkstemp(prefix="contacts-", suffix=".csv", dir=connector._workdir)
        os.close(fd)
        self.path = Path(name)
        self._handle = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._writer.writerow(self.columns)
        # key -> (value hash, guessed action): the payload is in the CSV already.
        self._pending: dict[str, tuple[str, str]] = {}

    def add(self, request: ContactRequest) -> list[Outcome]:
        row = [request.key]
        for name in self.columns[1:]:
            value = request.payload.get(name)
            row.append(NULL_VALUE if value is None else value)
        self._writer.writerow(row)
        self._pending[request.key] = (request.value_hash, request.guess_action)
        return []

    def unsent(self) -> list[ContactRequest]:
        return [ContactRequest(key, {}, h, action) for key, (h, action) in self._pending.items()]

    def flush(self) -> Iterator[Outcome]:
        """Run the Bulk job, then yield an outcome per record as the result files are read."""
        self._handle.close()
        if not self._pending:
            return
        pending = self._pending
        self._pending = {}
        self.connector.stats.jobs[self.dest.object] += 1
        try:
            jobs = self.connector.run_bulk(
                self.dest.object,
                "upsert",
                csv_file=str(self.path),
                external_id_field=self.dest.match_key.field,
                wait=cast(int, self.dest.bulk_poll_seconds),
            )
        except Exception as exc:
            message = f"Bulk upsert job failed: {clean_error(exc, 1000)}"
            for key, (value_hash, action) in pending.items():
                yield _contact_failed(key, value_hash, action, message)
            return
        finally:
            self.path.unlink(missing_ok=True)
        done: set[str] = set()
        key_field = self.dest.match_key.field
        try:
            for job in jobs:
                for kind, row in self.connector.job_results(self.dest.object, str(job["job_id"])):
                    key = row.get(key_field, "")
                    if key not in pending or key in done:
                        continue
                    done.add(key)
                    value_hash, action = pending[key]
                    if kind == "success":
                        created = str(row.get("sf__Created", "")).lower() == "true"
                        yield Outcome(
                            record_type="contact",
                            key=key,
                            action="create" if created else "update",
                            status="succeeded",
                            value_hash=value_hash,
                            destination_id=row.get("sf__Id") or None,
                        )
                    elif kind == "failed":
                        error = row.get("sf__Error") or "failed without an error message"
                        yield _contact_failed(key, value_hash, action, error)
                    else:
                        yield _contact_failed(key, value_hash, action, "not processed by the Bulk job")
            missing = "Salesforce returned no result for this record"
        except DestinationError as exc:
            missing = f"the job ran but its results could not be read ({exc}); it will be sent again"
        for key, (value_hash, action) in pending.items():
            if key not in done:
                yield _contact_failed(key, value_hash, action, missing)


def _contact_failed(key: str, value_hash: str, action: str, error: str) -> Outcome:
    return Outcome(
        record_type="contact",
        key=key,
        action=action,
        status="failed",
        value_hash=value_hash,
        error=redact(error),
    )


class SalesforceEnrollmentSink:
    """Collects enrollments; on flush skips existing members and inserts the rest."""

    def __init__(self, connector: SalesforceConnector) -> None:
        self.connector = connector
        self.dest = connector.dest
        self._pairs: dict[tuple[str, str], list[EnrollmentRequest]] = {}
        self.stale_contacts: set[str] = set()

    def add(self, request: EnrollmentRequest) -> list[Outcome]:
        pair = (request.target_id[:15], request.contact_id[:15])
        self._pairs.setdefault(pair, []).append(request)
        return []

    def unsent(self) -> list[EnrollmentRequest]:
        return [r for reqs in self._pairs.values() for r in reqs]

    def _existing(self) -> dict[tuple[str, str], str]:
        member = self.connector.member_field
        campaigns = sorted({c for c, _ in self._pairs})
        contacts = sorted({m for _, m in self._pairs})
        found: dict[tuple[str, str], str] = {}
        step = self.dest.soql_in_chunk
        for start in range(0, len(contacts), step):
            chunk = contacts[start : start + step]
            soql = (
                f"SELECT Id, CampaignId, {member} FROM CampaignMember "
                f"WHERE CampaignId IN ({', '.join(_soql_str(c) for c in campaigns)}) "
                f"AND {member} IN ({', '.join(_soql_str(c) for c in chunk)})"
            )
            for record in self.connector.query_all(soql):
                pair = (str(record["CampaignId"])[:15], str(record.get(member) or "")[:15])
                found[pair] = str(record["Id"])
        return found

    def flush(self) -> list[Outcome]:
        if not self._pairs:
            return []
        pairs = self._pairs
        outcomes: list[Outcome] = []
        try:
            existing = self._existing()
        except DestinationError as exc:
            self._pairs = {}
            return [_enrolled(r, "failed", error=str(exc)) for reqs in pairs.values() for r in reqs]
        to_insert: list[tuple[str, str]] = []
        for pair, reqs in pairs.items():
            if pair in existing:
                outcomes += [_enrolled(r, "succeeded", existing[pair], "already_member") for r in reqs]
            else:
                to_insert.append(pair)
        self._pairs = {}
        if to_insert:
            outcomes += self._insert(to_insert, pairs)
        return outcomes

    def _insert(
        self, to_insert: list[tuple[str, str]], pairs: dict[tuple[str, str], list[EnrollmentRequest]]
    ) -> list[Outcome]:
        member = self.connector.member_field
        status = self.dest.campaign_member_status
        path = self.connector._workdir / "campaign-members.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["CampaignId", member] + (["Status"] if status else []))
            for campaign, contact in to_insert:
                first = pairs[(campaign, contact)][0]
                writer.writerow([first.target_id, first.contact_id] + ([status] if status else []))
        self.connector.stats.jobs["CampaignMember"] += 1
        try:
            jobs = self.connector.run_bulk(
                "CampaignMember", "insert", csv_file=str(path), wait=cast(int, self.dest.bulk_poll_seconds)
            )
        except Exception as exc:
            message = f"CampaignMember Bulk insert failed: {clean_error(exc, 1000)}"
            return [_enrolled(r, "failed", error=message) for p in to_insert for r in pairs[p]]
        finally:
            path.unlink(missing_ok=True)
        done: set[tuple[str, str]] = set()
        results: list[Outcome] = []
        for job in jobs:
            for kind, row in self.connector.job_results("CampaignMember", str(job["job_id"])):
                pair = (str(row.get("CampaignId", ""))[:15], str(row.get(member, ""))[:15])
                if pair not in pairs or pair in done:
                    continue
                error = row.get("sf__Error") or ""
                reqs = pairs[pair]
                if kind == "success":
                    results += [_enrolled(r, "succeeded", row.get("sf__Id")) for r in reqs]
                elif "DUPLICATE_VALUE" in error:
                    results += [_enrolled(r, "succeeded", None, "already_member") for r in reqs]
                elif kind == "failed" and _is_missing_contact(error):
                    self.stale_contacts.update(r.customer_key for r in reqs)
                    results += [
                        _enrolled(r, "failed", error=f"{error} (the contact will be re-created and enrolled next run)")
                        for r in reqs
                    ]
                else:
                    results += [_enrolled(r, "failed", error=error or "not processed") for r in reqs]
                done.add(pair)
        for pair in to_insert:
            if pair not in done:
                results += [_enrolled(r, "failed", error="Salesforce returned no result") for r in pairs[pair]]
        return results


def _is_missing_contact(error: str) -> bool:
    return any(code in error for code in ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"))


def _enrolled(
    req: EnrollmentRequest,
    status: str,
    member_id: str | None = None,
    action: str = "enroll",
    error: str | None = None,
) -> Outcome:
    return Outcome(
        record_type="enrollment",
        key=req.trigger_id,
        action=action,
        status=status,  # type: ignore[arg-type]
        value_hash=req.value_hash,
        destination_id=member_id,
        error=redact(error) if error else None,
    )
