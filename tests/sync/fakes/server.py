"""A threaded HTTP(S) server on 127.0.0.1 with fault injection, for the CRM fakes.

Each fake is an ``App`` with a ``handle(request) -> Response`` method holding
its own state (the records a test reads back). The server adds what real APIs
do to clients: answers with an injected status (429, 5xx), connections dropped
before *or after* the request was applied (the case that tests idempotency),
and latency. Every request is logged so tests can count calls.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode("utf-8"), "application/json", headers or {})


class App(Protocol):
    def handle(self, request: Request) -> Response: ...


@dataclass
class Fault:
    """Answer matching requests with a fault, ``times`` times (``-1``: forever).

    kind: ``status`` (reply ``status``/``body``/``headers`` without handling),
    ``drop`` (close the connection without handling), ``drop_after`` (handle,
    then close without replying), ``delay`` (sleep ``seconds`` then handle).
    """

    match: Callable[[Request], bool]
    kind: str = "status"
    status: int = 503
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    seconds: float = 0.0
    hits: int = 0

    def take(self) -> bool:
        if self.times == 0:
            return False
        if self.times > 0:
            self.times -= 1
        self.hits += 1
        return True


@dataclass
class LoggedRequest:
    method: str
    path: str
    status: int
    at: float
    fault: str | None = None


class FakeServer:
    """Serve an :class:`App` on a random free port of 127.0.0.1."""

    def __init__(self, app: App, *, tls: tuple[str, str] | None = None, latency: float = 0.0) -> None:
        self.app = app
        self.faults: list[Fault] = []
        self.log: list[LoggedRequest] = []
        self.latency = latency
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes: without NODELAY,
                # Nagle plus delayed ACKs add 40 ms to every response.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                server._dispatch(self, request)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def requests(self, method: str | None = None, path_contains: str = "") -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if (method is None or r.method == method) and path_contains in r.path]

    def _fault_for(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times != 0 and fault.match(request) and fault.take():
                    return fault
        return None

    def _record(self, request: Request, status: int, fault: str | None) -> None:
        with self._lock:
            self.log.append(LoggedRequest(request.method, request.path, status, time.monotonic(), fault))

    def _dispatch(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        if self.latency:
            time.sleep(self.latency)
        fault = self._fault_for(request)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "drop":
            self._record(request, 0, "drop")
            _drop(handler)
            return
        if fault is not None and fault.kind == "status":
            body = fault.body
            payload = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
            response = Response(fault.status, payload, "application/json", dict(fault.headers))
            self._record(request, fault.status, "status")
        else:
            try:
                response = self.app.handle(request)
            except Exception as exc:  # a bug in the fake must be visible, not a hang
                response = Response.of_json({"message": f"fake crashed: {exc!r}"}, 500)
            if fault is not None and fault.kind == "drop_after":
                self._record(request, 0, "drop_after")
                _drop(handler)
                return
            self._record(request, response.status, None)
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(response.body)


def _drop(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)
