"""A fake Salesforce org speaking the HTTP APIs ``simple-salesforce`` calls.

Implemented: SOAP partner login, REST describe, SOQL query (a small subset:
``SELECT fields FROM Object [WHERE f = 'v' AND f IN ('a', 'b')] [LIMIT n]``
with ``nextRecordsUrl`` paging), sObject create, Bulk API 2.0 ingest jobs
(create, CSV upload, close, poll, ``successfulResults`` / ``failedResults`` /
``unprocessedrecords``, abort, delete) for upsert on an external ID and insert,
and the Metadata API SOAP calls ``upsertMetadata``/``createMetadata``/
``readMetadata`` (custom fields appear in ``describe`` afterwards).

Behaviour follows the documented API where the sync depends on it: ``#N/A``
clears a field and an empty cell leaves it alone; results come back in an
order unrelated to the input; an unknown column fails the whole job
(``InvalidBatch``); a Contact needs ``LastName`` to be created; a CampaignMember
is unique per campaign and contact (switchable, so tests can prove the sync
does not rely on it). Fault hooks: per-row failures and jobs that end
``Failed``; HTTP faults come from :class:`~tests.sync.fakes.server.FakeServer`.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from tests.sync.fakes.server import Request, Response

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_KEY_PREFIX = {"Contact": "003", "Lead": "00Q", "Campaign": "701", "CampaignMember": "00v"}

STANDARD_FIELDS: dict[str, list[dict[str, Any]]] = {
    "Contact": [
        {"name": "Id", "type": "id", "updateable": False},
        {"name": "FirstName", "type": "string"},
        {"name": "LastName", "type": "string"},
        {"name": "Email", "type": "email"},
        {"name": "LeadSource", "type": "picklist"},
    ],
    "Lead": [
        {"name": "Id", "type": "id", "updateable": False},
        {"name": "FirstName", "type": "string"},
        {"name": "LastName", "type": "string"},
        {"name": "Company", "type": "string"},
        {"name": "Email", "type": "email"},
        {"name": "LeadSource", "type": "picklist"},
    ],
    "Campaign": [
        {"name": "Id", "type": "id", "updateable": False},
        {"name": "Name", "type": "string"},
        {"name": "IsActive", "type": "boolean"},
    ],
    "CampaignMember": [
        {"name": "Id", "type": "id", "updateable": False},
        {"name": "CampaignId", "type": "reference"},
        {"name": "ContactId", "type": "reference"},
        {"name": "LeadId", "type": "reference"},
        {"name": "Status", "type": "string"},
    ],
}


def _member_key(record: dict[str, Any]) -> tuple[str, str]:
    """A CampaignMember's (campaign, contact or lead) pair, by 15-character IDs."""
    person = record.get("ContactId") or record.get("LeadId") or ""
    return str(record.get("CampaignId"))[:15], str(person)[:15]


@dataclass
class Job:
    id: str
    object: str
    operation: str
    external_id: str | None
    state: str = "Open"
    data: bytes = b""
    polls: int = 0
    success_rows: list[dict[str, str]] = field(default_factory=list)
    failed_rows: list[dict[str, str]] = field(default_factory=list)
    unprocessed_rows: list[dict[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    error_message: str | None = None


class FakeSalesforce:
    """State and handlers of the fake org. Thread-safe through one lock."""

    def __init__(
        self,
        *,
        access_token: str = "00Dfake!session",
        username: str = "sync@example.com",
        password: str = "pw",
        security_token: str = "tok",
        version: str = "59.0",
        custom_fields: dict[str, list[dict[str, Any]]] | None = None,
        unique_members: bool = True,
        polls_before_complete: int = 0,
        seed: int = 7,
    ) -> None:
        self.access_token = access_token
        self.username = username
        self.password = password
        self.security_token = security_token
        self.version = version
        self.sessions = {access_token}
        # Every session expires after this many authenticated calls (None: never),
        # standing in for the org's session timeout during a long run.
        self.session_lifetime_calls: int | None = None
        self._calls_in_session: dict[str, int] = {}
        self.base_url = ""  # set by the test fixture once the server has a port
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in STANDARD_FIELDS}
        self.fields: dict[str, dict[str, dict[str, Any]]] = {}
        for obj, fields in itertools.chain(STANDARD_FIELDS.items(), (custom_fields or {}).items()):
            for f in fields:
                self._add_field(obj, f)
        self.metadata: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[str, Job] = {}
        self.unique_members = unique_members
        self.polls_before_complete = polls_before_complete
        self.fail_next_jobs = 0
        self.fail_job_message = "InternalServerError : simulated job failure"
        self.row_failure: Callable[[str, dict[str, str]], str | None] | None = None
        self.duplicate_member_attempts = 0
        self.jobs_by_object: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)
        self._query_pages: dict[str, list[dict[str, Any]]] = {}
        self._members: dict[tuple[str, str], str] = {}

    def _put(self, obj: str, record: dict[str, Any]) -> None:
        self.records[obj][record["Id"]] = record
        if obj == "CampaignMember":
            self._members[_member_key(record)] = record["Id"]

    def _get15(self, obj: str, record_id: str) -> dict[str, Any] | None:
        """Find a record by its 15- or 18-character ID (IDs here are 18 characters)."""
        if len(record_id) == 18:
            return self.records[obj].get(record_id)
        if len(record_id) == 15:
            return self.records[obj].get(record_id + "AAA")
        return None

    # -- state helpers for tests ------------------------------------------------
    def _add_field(self, obj: str, meta: dict[str, Any]) -> None:
        base = {"type": "string", "updateable": True, "createable": True, "externalId": False, "unique": False}
        base.update(meta)
        self.fields.setdefault(obj, {})[meta["name"].lower()] = base

    def new_id(self, obj: str) -> str:
        n = next(self._ids)
        return f"{_KEY_PREFIX.get(obj, '001')}{n:012d}AAA"

    def create_campaign(self, name: str) -> str:
        with self.lock:
            cid = self.new_id("Campaign")
            self._put("Campaign", {"Id": cid, "Name": name, "IsActive": True})
            return cid

    def by_external_id(self, obj: str, field_name: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                str(r.get(field_name)).lower(): dict(r)
                for r in self.records[obj].values()
                if r.get(field_name) is not None
            }

    def members(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.records["CampaignMember"].values()]

    def delete(self, obj: str, record_id: str) -> None:
        with self.lock:
            record = self.records[obj].pop(record_id, None)
            if obj == "CampaignMember" and record is not None:
                self._members.pop(_member_key(record), None)

    # -- dispatch -------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/services/Soap/u/"):
            return self._soap_login(request)
        if path.startswith("/services/Soap/m/"):
            return self._metadata(request)
        if request.bearer not in self.sessions or self._session_expires(request.bearer):
            return Response.of_json(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                401,
            )
        prefix = f"/services/data/v{self.version}/"
        if not path.startswith(prefix):
            return Response.of_json([{"message": f"no such API version in {path}", "errorCode": "NOT_FOUND"}], 404)
        rest = path[len(prefix) :].rstrip("/")
        with self.lock:
            if rest.startswith("jobs/ingest"):
                return self._ingest(request, rest[len("jobs/ingest") :].strip("/"))
            if rest == "query" or rest == "queryAll":
                return self._query(request)
            if rest.startswith("query/"):
                return self._query_more(rest[len("query/") :])
            m = re.fullmatch(r"sobjects/(\w+)/describe", rest)
            if m:
                return self._describe(m.group(1))
            m = re.fullmatch(r"sobjects/(\w+)", rest)
            if m and request.method == "POST":
                return self._create(m.group(1), request.json() or {})
        return Response.of_json(
            [{"message": f"not implemented: {request.method} {path}", "errorCode": "NOT_FOUND"}], 404
        )

    def _session_expires(self, session: str | None) -> bool:
        if self.session_lifetime_calls is None or session is None:
            return False
        with self.lock:
            calls = self._calls_in_session.get(session, 0) + 1
            self._calls_in_session[session] = calls
            if calls > self.session_lifetime_calls:
                self.sessions.discard(session)
                return True
        return False

    # -- login --------------------------------------------------------------------
    def _soap_login(self, request: Request) -> Response:
        text = request.body.decode("utf-8")
        user = _xml_value(text, "username")
        password = _xml_value(text, "password")
        if user != self.username or password != self.password + self.security_token:
            fault = (
                '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
                "<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid "
                "username, password, security token; or user locked out.</faultstring><detail>"
                "<sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
                "<sf:exceptionMessage>Invalid username, password, security token; or user "
                "locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>"
                "</soapenv:Body></soapenv:Envelope>"
            )
            return Response(500, fault.encode(), "text/xml")
        session = f"00Dsession{next(self._ids)}!AQ"
        self.sessions.add(session)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{self.base_url}/services/Soap/m/{self.version}/00D000000000001"
            "</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false"
            f"</sandbox><serverUrl>{self.base_url}/services/Soap/u/{self.version}/"
            f"00D000000000001</serverUrl><sessionId>{session}</sessionId>"
            "<userId>005000000000001AAA</userId></result></loginResponse></soapenv:Body>"
            "</soapenv:Envelope>"
        )
        return Response(200, body.encode(), "text/xml")

    # -- REST ---------------------------------------------------------------------
    def _describe(self, obj: str) -> Response:
        if obj not in self.fields:
            return Response.of_json(
                [{"message": f"The requested resource does not exist: {obj}", "errorCode": "NOT_FOUND"}], 404
            )
        return Response.of_json({"name": obj, "fields": list(self.fields[obj].values())})

    def _create(self, obj: str, body: dict[str, Any]) -> Response:
        if obj not in self.records:
            return Response.of_json(
                [{"message": f"sObject type '{obj}' is not supported.", "errorCode": "NOT_FOUND"}], 404
            )
        rid = self.new_id(obj)
        self._put(obj, {"Id": rid, **body})
        return Response.of_json({"id": rid, "success": True, "errors": []}, 201)

    def _query(self, request: Request) -> Response:
        soql = request.arg("q") or ""
        try:
            obj, fields, conditions, limit = parse_soql(soql)
        except ValueError as exc:
            return Response.of_json([{"message": str(exc), "errorCode": "MALFORMED_QUERY"}], 400)
        if obj not in self.records:
            return Response.of_json(
                [{"message": f"sObject type '{obj}' is not supported", "errorCode": "INVALID_TYPE"}], 400
            )
        known = self.fields[obj]
        for name in fields + [c[0] for c in conditions]:
            if name.lower() not in known:
                return Response.of_json(
                    [{"message": f"No such column '{name}' on {obj}", "errorCode": "INVALID_FIELD"}], 400
                )
        rows = []
        for record in self.records[obj].values():
            if all(_matches(record.get(_canonical(known, f)), values) for f, values in conditions):
                rows.append(
                    {
                        "attributes": {
                            "type": obj,
                            "url": f"/services/data/v{self.version}/sobjects/{obj}/{record['Id']}",
                        },
                        **{_canonical(known, f): record.get(_canonical(known, f)) for f in fields},
                    }
                )
        if limit is not None:
            rows = rows[:limit]
        return self._page(rows, 0)

    def _page(self, rows: list[dict[str, Any]], offset: int, size: int = 2000) -> Response:
        chunk = rows[offset : offset + size]
        result: dict[str, Any] = {"totalSize": len(rows), "done": offset + size >= len(rows), "records": chunk}
        if not result["done"]:
            locator = f"01g{next(self._ids):012d}"
            self._query_pages[locator] = rows
            result["nextRecordsUrl"] = f"/services/data/v{self.version}/query/{locator}-{offset + size}"
        return Response.of_json(result)

    def _query_more(self, token: str) -> Response:
        locator, _, offset = token.partition("-")
        rows = self._query_pages.get(locator)
        if rows is None:
            return Response.of_json([{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}], 400)
        return self._page(rows, int(offset))

    # -- Bulk API 2.0 -----------------------------------------------------------------
    def _job_info(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdById": "005000000000001AAA",
            "state": job.state,
            "externalIdFieldName": job.external_id,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Ingest",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            "contentUrl": f"services/data/v{self.version}/jobs/ingest/{job.id}/batches",
            "numberRecordsProcessed": len(job.success_rows) + len(job.failed_rows),
            "numberRecordsFailed": len(job.failed_rows),
            "errorMessage": job.error_message,
        }

    def _ingest(self, request: Request, rest: str) -> Response:
        if rest == "" and request.method == "POST":
            body = request.json() or {}
            obj = body.get("object")
            if obj not in self.records:
                return Response.of_json([{"errorCode": "INVALIDJOB", "message": f"unknown object {obj}"}], 400)
            if body.get("operation") not in ("insert", "upsert", "update"):
                return Response.of_json([{"errorCode": "INVALIDJOB", "message": "unsupported operation"}], 400)
            job = Job(
                id=f"750{next(self._ids):012d}AAA",
                object=obj,
                operation=body["operation"],
                external_id=body.get("externalIdFieldName"),
            )
            self.jobs[job.id] = job
            self.jobs_by_object[obj] = self.jobs_by_object.get(obj, 0) + 1
            return Response.of_json(self._job_info(job))
        parts = rest.split("/")
        job = self.jobs.get(parts[0])
        if job is None:
            return Response.of_json([{"errorCode": "NOT_FOUND", "message": "no such job"}], 404)
        tail = parts[1] if len(parts) > 1 else ""
        if tail == "batches" and request.method == "PUT":
            if job.state != "Open":
                return Response.of_json([{"errorCode": "INVALIDJOBSTATE", "message": f"job is {job.state}"}], 409)
            job.data = request.body  # a retried upload replaces the data
            return Response(201, b"", "text/plain")
        if tail == "" and request.method == "PATCH":
            state = (request.json() or {}).get("state")
            if state == "UploadComplete" and job.state == "Open":
                self._process(job)
                job.polls = 0
            elif state == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
                job.state = "Aborted"
            else:
                return Response.of_json(
                    [{"errorCode": "INVALIDJOBSTATE", "message": f"cannot go from {job.state} to {state}"}], 409
                )
            return Response.of_json(self._job_info(job))
        if tail == "" and request.method == "GET":
            info = self._job_info(job)
            if job.state in ("JobComplete", "Failed") and job.polls < self.polls_before_complete:
                job.polls += 1
                info["state"] = "InProgress"
            return Response.of_json(info)
        if tail == "" and request.method == "DELETE":
            del self.jobs[job.id]
            return Response(204, b"", "text/plain")
        if request.method == "GET" and tail in (
            "successfulResults",
            "failedResults",
            "unprocessedrecords",
            "unprocessedRecords",
        ):
            return self._results(job, tail)
        return Response.of_json([{"errorCode": "NOT_FOUND", "message": rest}], 404)

    def _results(self, job: Job, kind: str) -> Response:
        if kind == "successfulResults":
            header = ["sf__Id", "sf__Created", *job.columns]
            rows = job.success_rows
        elif kind == "failedResults":
            header = ["sf__Id", "sf__Error", *job.columns]
            rows = job.failed_rows
        else:
            header = list(job.columns)
            rows = job.unprocessed_rows
        rows = list(rows)
        self._rng.shuffle(rows)  # Salesforce does not keep the input order
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return Response(200, buffer.getvalue().encode("utf-8"), "text/csv")

    def _process(self, job: Job) -> None:
        reader = csv.DictReader(io.StringIO(job.data.decode("utf-8")))
        job.columns = list(reader.fieldnames or [])
        rows = list(reader)
        if self.fail_next_jobs > 0:
            self.fail_next_jobs -= 1
            job.state = "Failed"
            job.error_message = self.fail_job_message
            job.unprocessed_rows = rows
            return
        known = self.fields[job.object]
        unknown = [c for c in job.columns if c.lower() not in known]
        if unknown:
            job.state = "Failed"
            job.error_message = f"InvalidBatch : Field name not found : {unknown[0]}"
            job.unprocessed_rows = rows
            return
        if job.operation == "upsert":
            self._upsert(job, rows)
        elif job.operation == "insert":
            self._insert(job, rows)
        job.state = "JobComplete"

    def _apply(self, obj: str, record: dict[str, Any], row: dict[str, str], skip: str | None) -> str | None:
        known = self.fields[obj]
        for column, value in row.items():
            if column == skip or value == "":
                continue  # Bulk API: an empty cell leaves the field unchanged
            meta = known[column.lower()]
            if not meta.get("updateable", True):
                return f"INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: {column}"
            if value == "#N/A":
                record[meta["name"]] = None
                continue
            if meta["type"] in ("double", "currency", "percent"):
                try:
                    float(value)
                except ValueError:
                    return f"INVALID_TYPE_ON_FIELD_IN_RECORD:{meta['name']}: value not of required type: {value}:--"
            if meta["type"] == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                return f"INVALID_TYPE_ON_FIELD_IN_RECORD:{meta['name']}: bad date {value}:--"
            record[meta["name"]] = value
        return None

    def _upsert(self, job: Job, rows: list[dict[str, str]]) -> None:
        ext = job.external_id or "Id"
        ext_meta = self.fields[job.object].get(ext.lower())
        if ext_meta is None or not ext_meta.get("externalId"):
            job.failed_rows = [
                {"sf__Id": "", "sf__Error": f"INVALID_FIELD:{ext} is not an External ID field:--", **r} for r in rows
            ]
            return
        index = {
            str(r.get(ext_meta["name"])).lower(): r
            for r in self.records[job.object].values()
            if r.get(ext_meta["name"]) is not None
        }
        counts: dict[str, int] = {}
        for row in rows:
            key = (row.get(ext) or "").lower()
            counts[key] = counts.get(key, 0) + 1
        for row in rows:
            key = (row.get(ext) or "").lower()
            if not key:
                job.failed_rows.append({"sf__Id": "", "sf__Error": f"MISSING_ARGUMENT:{ext} not specified:--", **row})
                continue
            if counts[key] > 1:
                job.failed_rows.append(
                    {
                        "sf__Id": "",
                        "sf__Error": f"DUPLICATE_EXTERNAL_ID:Duplicate external id specified: {row.get(ext)}:--",
                        **row,
                    }
                )
                continue
            if self.row_failure is not None:
                error = self.row_failure(job.object, row)
                if error:
                    job.failed_rows.append({"sf__Id": "", "sf__Error": error, **row})
                    continue
            existing = index.get(key)
            if existing is None:
                record: dict[str, Any] = {"Id": self.new_id(job.object), ext_meta["name"]: row.get(ext)}
                error = self._apply(job.object, record, row, ext)
                if error is None and job.object in ("Contact", "Lead") and not record.get("LastName"):
                    error = "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:--"
                if error is None and job.object == "Lead" and not record.get("Company"):
                    error = "REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:--"
                if error:
                    job.failed_rows.append({"sf__Id": "", "sf__Error": error, **row})
                    continue
                self._put(job.object, record)
                index[key] = record
                job.success_rows.append({"sf__Id": record["Id"], "sf__Created": "true", **row})
            else:
                updated = dict(existing)
                error = self._apply(job.object, updated, row, ext)
                if error:
                    job.failed_rows.append({"sf__Id": existing["Id"], "sf__Error": error, **row})
                    continue
                existing.update(updated)
                job.success_rows.append({"sf__Id": existing["Id"], "sf__Created": "false", **row})

    def _insert(self, job: Job, rows: list[dict[str, str]]) -> None:
        for row in rows:
            if self.row_failure is not None:
                error = self.row_failure(job.object, row)
                if error:
                    job.failed_rows.append({"sf__Id": "", "sf__Error": error, **row})
                    continue
            if job.object != "CampaignMember":
                record = {"Id": self.new_id(job.object)}
                error = self._apply(job.object, record, row, None)
                if error:
                    job.failed_rows.append({"sf__Id": "", "sf__Error": error, **row})
                    continue
                self._put(job.object, record)
                job.success_rows.append({"sf__Id": record["Id"], "sf__Created": "true", **row})
                continue
            error = self._member_error(row)
            if error:
                job.failed_rows.append({"sf__Id": "", "sf__Error": error, **row})
                continue
            record = {"Id": self.new_id("CampaignMember")}
            self._apply("CampaignMember", record, row, None)
            record.setdefault("Status", "Sent")
            self._put("CampaignMember", record)
            job.success_rows.append({"sf__Id": record["Id"], "sf__Created": "true", **row})

    def _member_error(self, row: dict[str, str]) -> str | None:
        campaign = self._get15("Campaign", row.get("CampaignId", ""))
        if campaign is None:
            return "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"
        member_field = "ContactId" if row.get("ContactId") else "LeadId"
        obj = "Contact" if member_field == "ContactId" else "Lead"
        person = self._get15(obj, row.get(member_field, ""))
        if person is None:
            return "ENTITY_IS_DELETED:entity is deleted:--"
        if (campaign["Id"][:15], person["Id"][:15]) in self._members:
            self.duplicate_member_attempts += 1
            if self.unique_members:
                return "DUPLICATE_VALUE:Already a campaign member.:--"
        return None

    # -- Metadata API (SOAP) ------------------------------------------------------------
    def _metadata(self, request: Request) -> Response:
        root = ET.fromstring(request.body)
        session = None
        body = None
        for el in root.iter():
            if _local(el.tag) == "sessionId":
                session = (el.text or "").strip()
            if _local(el.tag) == "Body":
                body = el
        if session not in self.sessions:
            return _soap_fault("sf:INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader")
        assert body is not None
        op = next(iter(body))
        name = _local(op.tag)
        with self.lock:
            if name in ("upsertMetadata", "createMetadata", "updateMetadata"):
                results = [self._store_metadata(el, name) for el in op if _local(el.tag) == "metadata"]
                inner = "".join(results)
                return _soap_ok(f"<{name}Response>{inner}</{name}Response>")
            if name == "readMetadata":
                kind = ""
                names: list[str] = []
                for el in op:
                    if _local(el.tag) == "type":
                        kind = el.text or ""
                    if _local(el.tag) == "fullNames":
                        names.append(el.text or "")
                records = []
                for full_name in names:
                    meta = self.metadata.get((kind, full_name))
                    if meta is not None:
                        records.append(
                            f'<records xsi:type="{kind}" xmlns:xsi="http://www.w3.org/2001/'
                            f'XMLSchema-instance"><fullName>{full_name}</fullName>'
                            f"<label>{meta.get('label', '')}</label></records>"
                        )
                return _soap_ok(f"<readMetadataResponse><result>{''.join(records)}</result></readMetadataResponse>")
        return _soap_fault("sf:UNKNOWN_EXCEPTION", f"operation {name} not implemented")

    def _store_metadata(self, el: ET.Element, op: str) -> str:
        kind = _local(el.attrib.get(f"{XSI}type", "")).split(":")[-1]
        values: dict[str, Any] = {}
        for child in el:
            tag = _local(child.tag)
            if len(child):
                values.setdefault(tag, []).append({_local(c.tag): c.text for c in child})
            else:
                values[tag] = child.text
        full_name = str(values.get("fullName") or "")
        created = (kind, full_name) not in self.metadata
        error = None
        if kind == "CustomField":
            obj, _, field_name = full_name.partition(".")
            if obj not in self.fields or not field_name.endswith("__c"):
                error = ("INVALID_CROSS_REFERENCE_KEY", f"In field: fullName - no CustomObject named {obj} found")
            elif not values.get("label") or not values.get("type"):
                error = ("FIELD_INTEGRITY_EXCEPTION", "label and type are required")
            elif op == "createMetadata" and not created:
                error = ("DUPLICATE_DEVELOPER_NAME", f"{full_name} already exists")
            else:
                sf_type = {"Text": "string", "Number": "double", "Date": "date", "Checkbox": "boolean"}.get(
                    str(values["type"]), "string"
                )
                self._add_field(
                    obj,
                    {
                        "name": field_name,
                        "type": sf_type,
                        "externalId": str(values.get("externalId")).lower() == "true",
                        "unique": str(values.get("unique")).lower() == "true",
                        "label": values.get("label"),
                    },
                )
        if error is None:
            self.metadata[(kind, full_name)] = values
            return (
                f"<result><created>{'true' if created else 'false'}</created><fullName>"
                f"{full_name}</fullName><success>true</success></result>"
            )
        return (
            f"<result><created>false</created><errors><message>{error[1]}</message>"
            f"<statusCode>{error[0]}</statusCode></errors><fullName>{full_name}</fullName>"
            "<success>false</success></result>"
        )


def _soap_ok(inner: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Body>'
        f"{inner}</soapenv:Body></soapenv:Envelope>"
    )
    return Response(200, body.encode(), "text/xml")


def _soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{message}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(500, body.encode(), "text/xml")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_value(text: str, name: str) -> str | None:
    m = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", text, re.S)
    if m is None:
        return None
    import html

    return html.unescape(m.group(1))


def _canonical(known: dict[str, dict[str, Any]], name: str) -> str:
    return str(known[name.lower()]["name"])


def _matches(value: Any, wanted: list[str]) -> bool:
    if value is None:
        return False
    text = str(value)
    # Salesforce compares IDs by their case-sensitive 15-character form.
    return any(text == w or (len(w) in (15, 18) and len(text) in (15, 18) and text[:15] == w[:15]) for w in wanted)


_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.I | re.S,
)
_COND = re.compile(r"^\s*(\w+)\s*(=|IN)\s*(.+?)\s*$", re.I | re.S)
_STR = re.compile(r"'((?:[^'\\]|\\.)*)'")


def parse_soql(soql: str) -> tuple[str, list[str], list[tuple[str, list[str]]], int | None]:
    """Parse the SOQL subset the sync uses; ValueError on anything else."""
    m = _SOQL.match(soql)
    if m is None:
        raise ValueError(f"unsupported SOQL: {soql[:200]}")
    fields = [f.strip() for f in m.group("fields").split(",")]
    conditions: list[tuple[str, list[str]]] = []
    where = m.group("where")
    if where:
        for part in re.split(r"\s+AND\s+", where, flags=re.I):
            c = _COND.match(part)
            if c is None:
                raise ValueError(f"unsupported condition: {part}")
            values = [re.sub(r"\\(.)", r"\1", v) for v in _STR.findall(c.group(3))]
            if c.group(2).upper() == "=" and len(values) != 1:
                raise ValueError(f"bad = condition: {part}")
            conditions.append((c.group(1), values))
    limit = int(m.group("limit")) if m.group("limit") else None
    return m.group("obj"), fields, conditions, limit
