"""Contract checks of the HubSpot fake against HubSpot's published OpenAPI documents.

The documents live beside the project (``<repo>/../shared/specs/hubspot``) and are
never copied into it. Each request the real ``hubspot-api-client`` sends to the
fake, and each response the fake returns, is validated with openapi-core; the
violations are collected (not raised) so the client sees normal behaviour and
the test asserts on the list afterwards.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC_FILES = {
    "/crm/v3/objects/contacts": "crm-contacts-v3.json",
    "/crm/v3/properties": "crm-properties-v3.json",
    "/crm/v3/lists": "crm-lists-v3.json",
}
HOST = "https://api.hubapi.com"


def spec_dir(repo_root: Path) -> Path:
    return repo_root.parent / "shared" / "specs" / "hubspot"


@dataclass
class Violation:
    kind: str
    method: str
    path: str
    status: int | None
    detail: str


class OpenApiContract:
    """Validates requests and responses of the paths it has a document for."""

    def __init__(self, directory: Path) -> None:
        import json

        from openapi_core import Config, OpenAPI

        # HubSpot documents error bodies as "*/*"; they are JSON.
        config = Config(extra_media_type_deserializers={"*/*": json.loads})
        self.apps: dict[str, Any] = {}
        for prefix, name in SPEC_FILES.items():
            self.apps[prefix] = OpenAPI.from_file_path(str(directory / name), config=config)
        self.violations: list[Violation] = []
        self.checked = 0
        self._lock = threading.Lock()

    def _app(self, path: str) -> Any:
        for prefix, app in self.apps.items():
            if path.startswith(prefix):
                return app
        return None

    def _mock_request(self, request: Any) -> Any:
        from openapi_core.testing import MockRequest

        args = {k: v[0] for k, v in request.query.items()}
        return MockRequest(
            HOST,
            request.method.lower(),
            request.path,
            args=args,
            headers=request.headers,
            data=request.body or None,
            content_type=request.headers.get("content-type", "application/json").split(";")[0],
        )

    def _record(self, kind: str, request: Any, status: int | None, exc: Exception) -> None:
        detail = str(exc)
        cause = exc.__cause__
        if cause is not None:
            detail += f" <- {cause}"
        with self._lock:
            self.violations.append(Violation(kind, request.method, request.path, status, detail[:2000]))

    def check_request(self, request: Any) -> None:
        app = self._app(request.path)
        if app is None:
            return
        with warnings.catch_warnings():
            # openapi-core warns that it cannot check oauth2 security schemes.
            warnings.simplefilter("ignore", UserWarning)
            try:
                app.validate_request(self._mock_request(request))
            except Exception as exc:
                self._record("request", request, None, exc)
        with self._lock:
            self.checked += 1

    def check_response(self, request: Any, response: Any) -> None:
        from openapi_core.testing import MockResponse

        app = self._app(request.path)
        if app is None or response.status == 429 or response.status == 401:
            # Rate-limit and auth answers come from HubSpot's gateway, not the
            # CRM API, and are documented on the usage-guidelines page instead.
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                app.validate_response(
                    self._mock_request(request),
                    MockResponse(response.body, response.status, dict(response.headers), response.content_type),
                )
            except Exception as exc:
                self._record("response", request, response.status, exc)
