"""A fake HubSpot account: contacts (batch upsert/read), properties and groups, lists.

It enforces what the sync depends on: at most 100 inputs per batch, ``idProperty``
must be ``email`` or a property with ``hasUniqueValue``, properties must exist and
enumeration values must be options, ``""`` clears a property, list membership is
a set (adding a member twice is ignored, unknown contacts come back in
``recordIdsMissing``). Inputs with an ``objectWriteTraceId`` get per-record errors
in a 207 multi-status answer; without it a bad input fails the whole batch (400).

Rate limits work like HubSpot's: a rolling 10-second window and a daily count,
answered with 429 and ``policyName`` ``TEN_SECONDLY_ROLLING`` or ``DAILY``. Every
request and response can be validated against HubSpot's OpenAPI documents (see
:mod:`tests.sync.fakes.openapi`); violations are collected for the tests to assert on.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.sync.fakes.server import Request, Response

_NOW = "2024-01-01T00:00:00.000Z"


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _indexed(prop: str, value: str) -> str:
    """How a unique property's value is looked up: emails case-insensitively."""
    return value.lower() if prop == "email" else value


def _error(status: int, message: str, category: str = "VALIDATION_ERROR", **extra: Any) -> Response:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}
    return Response.of_json(body, status)


class FakeHubSpot:
    """State and handlers of the fake account. Thread-safe through one lock."""

    def __init__(
        self,
        *,
        access_token: str = "pat-na1-fake",
        per_ten_seconds: int | None = None,
        daily_limit: int | None = None,
        validator: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.access_token = access_token
        self.lock = threading.RLock()
        self.per_ten_seconds = per_ten_seconds
        self.daily_limit = daily_limit
        self.validator = validator
        self._clock = clock
        self.window: collections.deque[float] = collections.deque()
        self.daily_count = 0
        self.max_in_window = 0
        self.rate_limited: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()
        self.contacts: dict[str, dict[str, Any]] = {}
        self.unique_index: dict[str, dict[str, str]] = collections.defaultdict(dict)
        self.groups: dict[str, dict[str, Any]] = {
            "contactinformation": {
                "name": "contactinformation",
                "label": "Contact information",
                "displayOrder": 0,
                "archived": False,
            },
        }
        self.properties: dict[str, dict[str, Any]] = {}
        for name, label in (("email", "Email"), ("firstname", "First Name"), ("lastname", "Last Name")):
            self.properties[name] = self._property(
                {
                    "name": name,
                    "label": label,
                    "type": "string",
                    "fieldType": "text",
                    "groupName": "contactinformation",
                },
                hubspot_defined=True,
            )
        self.lists: dict[str, dict[str, Any]] = {}
        self.list_members: dict[str, dict[str, str]] = {}
        self.input_failure: Callable[[dict[str, Any]], str | None] | None = None
        self.echo_token_in_errors = False
        self._ids = itertools.count(1001)
        self._list_ids = itertools.count(501)

    # -- helpers for tests ------------------------------------------------------
    def create_list(self, name: str, processing_type: str = "MANUAL") -> str:
        with self.lock:
            list_id = str(next(self._list_ids))
            self.lists[list_id] = {
                "listId": list_id,
                "name": name,
                "processingType": processing_type,
                "objectTypeId": "0-1",
                "processingStatus": "COMPLETE",
                "listVersion": 1,
                "createdAt": _NOW,
                "updatedAt": _NOW,
            }
            self.list_members[list_id] = {}
            return list_id

    def contact_by(self, prop: str, value: str) -> dict[str, Any] | None:
        with self.lock:
            cid = self.unique_index[prop].get(_indexed(prop, value))
            return None if cid is None else self.contacts[cid]

    def delete_contact(self, contact_id: str) -> None:
        with self.lock:
            contact = self.contacts.pop(contact_id)
            for prop, index in self.unique_index.items():
                value = contact["properties"].get(prop)
                if value:
                    index.pop(_indexed(prop, value), None)
            for members in self.list_members.values():
                members.pop(contact_id, None)

    def _property(self, spec: dict[str, Any], hubspot_defined: bool = False) -> dict[str, Any]:
        return {
            "name": spec["name"],
            "label": spec.get("label", spec["name"]),
            "type": spec["type"],
            "fieldType": spec["fieldType"],
            "groupName": spec.get("groupName", "contactinformation"),
            "description": spec.get("description", ""),
            "options": [
                {
                    "label": o["label"],
                    "value": o["value"],
                    "hidden": bool(o.get("hidden")),
                    "displayOrder": o.get("displayOrder", i),
                    "description": o.get("description") or "",
                }
                for i, o in enumerate(spec.get("options") or [])
            ],
            "hasUniqueValue": bool(spec.get("hasUniqueValue", False)),
            "hubspotDefined": hubspot_defined,
            "hidden": False,
            "formField": False,
            "displayOrder": spec.get("displayOrder", -1),
            "archived": False,
            "createdAt": _NOW,
            "updatedAt": _NOW,
            "calculated": False,
            "externalOptions": False,
            "modificationMetadata": {
                "archivable": not hubspot_defined,
                "readOnlyDefinition": hubspot_defined,
                "readOnlyValue": False,
            },
        }

    # -- dispatch -----------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if self.validator is not None:
            self.validator.check_request(request)
        response = self._handle(request)
        if self.validator is not None:
            self.validator.check_response(request, response)
        return response

    def _limit(self) -> Response | None:
        now = self._clock()
        while self.window and now - self.window[0] >= 10.0:
            self.window.popleft()
        headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
        if self.daily_limit is not None and self.daily_count >= self.daily_limit:
            self.rate_limited["DAILY"] += 1
            response = _error(
                429, "You have reached your daily limit.", "RATE_LIMITS", errorType="RATE_LIMIT", policyName="DAILY"
            )
            response.headers.update(headers)
            return response
        if self.per_ten_seconds is not None and len(self.window) >= self.per_ten_seconds:
            self.rate_limited["TEN_SECONDLY_ROLLING"] += 1
            response = _error(
                429,
                "You have reached your ten_secondly_rolling limit.",
                "RATE_LIMITS",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
            )
            headers["X-HubSpot-RateLimit-Max"] = str(self.per_ten_seconds)
            headers["X-HubSpot-RateLimit-Remaining"] = "0"
            response.headers.update(headers)
            return response
        self.window.append(now)
        self.daily_count += 1
        self.max_in_window = max(self.max_in_window, len(self.window))
        return None

    def _handle(self, request: Request) -> Response:
        if request.bearer != self.access_token:
            return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        with self.lock:
            limited = self._limit()
            if limited is not None:
                return limited
            path, method = request.path.rstrip("/"), request.method
            if path == "/crm/v3/objects/contacts/batch/upsert" and method == "POST":
                self.calls["upsert"] += 1
                return self._upsert(request)
            if path == "/crm/v3/objects/contacts/batch/read" and method == "POST":
                self.calls["read"] += 1
                return self._read(request)
            m = re.fullmatch(r"/crm/v3/properties/contacts/groups(?:/(\w+))?", path)
            if m:
                self.calls["properties"] += 1
                return self._groups(request, m.group(1))
            m = re.fullmatch(r"/crm/v3/properties/contacts(?:/(\w+))?", path)
            if m:
                self.calls["properties"] += 1
                return self._properties(request, m.group(1))
            m = re.fullmatch(r"/crm/v3/lists/(\d+)/memberships/add", path)
            if m and method == "PUT":
                self.calls["list_add"] += 1
                return self._members_add(m.group(1), request)
            m = re.fullmatch(r"/crm/v3/lists/(\d+)/memberships", path)
            if m and method == "GET":
                self.calls["list_read"] += 1
                return self._members_get(m.group(1), request)
            m = re.fullmatch(r"/crm/v3/lists/(\d+)", path)
            if m and method == "GET":
                self.calls["lists"] += 1
                found = self.lists.get(m.group(1))
                if found is None:
                    return _error(404, f"List {m.group(1)} does not exist.", "OBJECT_NOT_FOUND")
                return Response.of_json({"list": {**found, "size": len(self.list_members[m.group(1)])}})
        return _error(404, f"no route for {request.method} {request.path}", "OBJECT_NOT_FOUND")

    # -- contacts -----------------------------------------------------------------
    def _check_value(self, name: str, value: Any) -> str | None:
        prop = self.properties.get(name)
        if prop is None:
            return f'Property "{name}" does not exist'
        if not isinstance(value, str):
            return f'Property "{name}" must be a string value'
        if value == "":
            return None
        if prop["type"] == "enumeration":
            if value not in {o["value"] for o in prop["options"]}:
                return f'{value} was not one of the allowed options for property "{name}"'
        elif prop["type"] == "number":
            try:
                float(value)
            except ValueError:
                return f'{value} is not a valid number for property "{name}"'
        elif prop["type"] == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d+", value):
            return f'{value} is not a valid date for property "{name}"'
        elif prop["type"] == "bool" and value not in ("true", "false"):
            return f'{value} is not a valid boolean for property "{name}"'
        if prop["name"] == "email" and "@" not in value:
            return f"Email address {value} is invalid"
        return None

    def _upsert(self, request: Request) -> Response:
        body = request.json() or {}
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "Batch input has too many inputs; the limit is 100.")
        seen: set[str] = set()
        for item in inputs:
            key = str(item.get("id", "")).lower()
            if key in seen:
                return _error(400, "Duplicate IDs found in batch input: " + key)
            seen.add(key)
        multi_status = all(item.get("objectWriteTraceId") for item in inputs)
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            message = self._input_error(item, request)
            if message is None:
                results.append(self._apply(item))
                continue
            if not multi_status:
                return _error(400, message)
            errors.append(
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": message,
                    "context": {"objectWriteTraceId": [str(item["objectWriteTraceId"])]},
                    "errors": [{"message": message}],
                    "links": {},
                }
            )
        payload: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "requestedAt": _NOW,
            "startedAt": _NOW,
            "completedAt": _stamp(),
        }
        if errors:
            payload["errors"] = errors
            payload["numErrors"] = len(errors)
            return Response.of_json(payload, 207)
        return Response.of_json(payload, 200)

    def _input_error(self, item: dict[str, Any], request: Request) -> str | None:
        id_prop = item.get("idProperty") or "hs_object_id"
        prop = self.properties.get(id_prop)
        if prop is None or not (id_prop == "email" or prop["hasUniqueValue"]):
            return f"{id_prop} is not a unique property and cannot be used as idProperty"
        key = str(item.get("id") or "")
        if not key:
            return "id is required"
        if id_prop == "email" and "@" not in key:
            return f"Email address {key} is invalid"
        for name, value in (item.get("properties") or {}).items():
            message = self._check_value(name, value)
            if message:
                return message
        if self.input_failure is not None:
            message = self.input_failure(item)
            if message:
                if self.echo_token_in_errors:
                    message += f" (request authorization: Bearer {request.bearer})"
                return message
        return None

    def _apply(self, item: dict[str, Any]) -> dict[str, Any]:
        id_prop = item["idProperty"]
        key = str(item["id"])
        index_key = _indexed(id_prop, key)
        cid = self.unique_index[id_prop].get(index_key)
        now = _stamp()
        new = cid is None
        if new:
            cid = str(next(self._ids))
            self.contacts[cid] = {
                "id": cid,
                "properties": {
                    id_prop: index_key,
                    "hs_object_id": cid,
                    "createdate": now,
                },
                "createdAt": now,
                "archived": False,
            }
            self.unique_index[id_prop][index_key] = cid
        assert cid is not None
        contact = self.contacts[cid]
        for name, value in (item.get("properties") or {}).items():
            if value == "":
                contact["properties"].pop(name, None)
            else:
                contact["properties"][name] = value
                if name in self.unique_index or self.properties[name]["hasUniqueValue"]:
                    self.unique_index[name][_indexed(name, value)] = cid
        contact["properties"]["lastmodifieddate"] = now
        contact["updatedAt"] = now
        props = {
            k: v
            for k, v in contact["properties"].items()
            if k in (item.get("properties") or {}) or k in (id_prop, "hs_object_id", "createdate", "lastmodifieddate")
        }
        return {
            "id": cid,
            "properties": props,
            "createdAt": contact["createdAt"],
            "updatedAt": now,
            "archived": False,
            "new": new,
            "objectWriteTraceId": item.get("objectWriteTraceId"),
        }

    def _read(self, request: Request) -> Response:
        body = request.json() or {}
        id_prop = body.get("idProperty")
        wanted = body.get("properties") or []
        results = []
        for item in body.get("inputs") or []:
            key = str(item.get("id"))
            cid = self.unique_index[id_prop].get(_indexed(id_prop, key)) if id_prop else key
            contact = self.contacts.get(cid or "")
            if contact is None:
                continue
            props = {k: contact["properties"].get(k) for k in wanted}
            results.append(
                {
                    "id": contact["id"],
                    "properties": props,
                    "createdAt": contact["createdAt"],
                    "updatedAt": contact["updatedAt"],
                    "archived": False,
                }
            )
        return Response.of_json({"status": "COMPLETE", "results": results, "startedAt": _NOW, "completedAt": _stamp()})

    # -- properties ----------------------------------------------------------------
    def _groups(self, request: Request, name: str | None) -> Response:
        if request.method == "GET" and name is None:
            return Response.of_json({"results": list(self.groups.values())})
        if request.method == "GET":
            group = self.groups.get(name or "")
            if group is None:
                return _error(404, f"Unable to find property group {name}", "OBJECT_NOT_FOUND")
            return Response.of_json(group)
        if request.method == "POST" and name is None:
            body = request.json() or {}
            if body.get("name") in self.groups:
                return _error(409, f"Property group {body.get('name')} already exists", "OBJECT_ALREADY_EXISTS")
            group = {
                "name": body["name"],
                "label": body["label"],
                "displayOrder": body.get("displayOrder", -1),
                "archived": False,
            }
            self.groups[body["name"]] = group
            return Response.of_json(group, 201)
        return _error(405, "method not allowed")

    def _properties(self, request: Request, name: str | None) -> Response:
        if request.method == "GET" and name is None:
            return Response.of_json({"results": list(self.properties.values())})
        if request.method == "GET":
            prop = self.properties.get(name or "")
            if prop is None:
                return _error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
            return Response.of_json(prop)
        if request.method == "POST" and name is None:
            body = request.json() or {}
            if body.get("name") in self.properties:
                return _error(409, f"Property {body.get('name')} already exists", "OBJECT_ALREADY_EXISTS")
            if body.get("groupName") not in self.groups:
                return _error(400, f"Property group {body.get('groupName')} does not exist")
            if body.get("type") == "enumeration" and not body.get("options"):
                return _error(400, "Enumeration properties need at least one option")
            prop = self._property(body)
            self.properties[prop["name"]] = prop
            return Response.of_json(prop, 201)
        if request.method == "PATCH" and name is not None:
            prop = self.properties.get(name)
            if prop is None:
                return _error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
            body = request.json() or {}
            if "options" in body:
                prop["options"] = self._property({**prop, "options": body["options"]})["options"]
            for key in ("label", "description", "groupName", "displayOrder", "hidden"):
                if key in body:
                    prop[key] = body[key]
            prop["updatedAt"] = _stamp()
            return Response.of_json(prop)
        return _error(405, "method not allowed")

    # -- lists -------------------------------------------------------------------------
    def _members_add(self, list_id: str, request: Request) -> Response:
        if list_id not in self.lists:
            return _error(404, f"List {list_id} does not exist.", "OBJECT_NOT_FOUND")
        if self.lists[list_id]["processingType"] not in ("MANUAL", "SNAPSHOT"):
            return _error(400, "List is not a MANUAL or SNAPSHOT list")
        ids = request.json() or []
        members = self.list_members[list_id]
        added, missing = [], []
        for rid in ids:
            rid = str(rid)
            if rid not in self.contacts:
                missing.append(rid)
            elif rid not in members:
                members[rid] = _stamp()
                added.append(rid)
        return Response.of_json({"recordsIdsAdded": added, "recordIdsMissing": missing, "recordIdsRemoved": []})

    def _members_get(self, list_id: str, request: Request) -> Response:
        if list_id not in self.lists:
            return _error(404, f"List {list_id} does not exist.", "OBJECT_NOT_FOUND")
        limit = min(int(request.arg("limit", "100") or 100), 250)
        after = request.arg("after")
        ids = sorted(self.list_members[list_id], key=int)
        if after:
            ids = [i for i in ids if int(i) > int(after)]
        page = ids[:limit]
        body: dict[str, Any] = {
            "results": [{"recordId": i, "membershipTimestamp": self.list_members[list_id][i]} for i in page],
            "total": len(self.list_members[list_id]),
        }
        if len(ids) > limit:
            body["paging"] = {"next": {"after": page[-1]}}
        return Response.of_json(body)
