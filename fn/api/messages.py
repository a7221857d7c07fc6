"""Request and Response: what the HTTP layer hands the routes, and what it takes back.

A Request carries the fields of OpenFaaS python3-http's `event` (body, headers, method,
query, path), so the function's handler takes it as its event unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

JSON = "application/json"
# Made once: json.dumps with any argument builds a new encoder per call, and HTTPStatus(...) is an
# enum lookup per answer; both are a few µs of every request, health probes' too. No answer holds
# a reference to itself, so the circular check only costs.
_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_STATUS_LINES = {int(s): f"{int(s)} {s.phrase}" for s in HTTPStatus}


class Headers(dict):
    """Request headers by lower-case name: headers.get("X-Call-Id") finds "x-call-id"."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> Any:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


@dataclass
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: Headers = field(default_factory=Headers)
    query: dict[str, str] = field(default_factory=dict)  # the first value of each key
    call_id: str | None = None  # set by the HTTP layer (fn/server/app.py); returned as X-Call-Id

    @classmethod
    def from_wsgi(cls, environ: dict[str, Any], body: bytes) -> Request:
        headers = Headers((key[5:].replace("_", "-").lower(), value) for key, value in environ.items()
                          if key.startswith("HTTP_"))
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        query: dict[str, str] = {}
        if environ.get("QUERY_STRING"):
            for key, value in parse_qsl(environ["QUERY_STRING"], keep_blank_values=True):
                query.setdefault(key, value)
        return cls(environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/", body, headers, query)


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", JSON)])
    # Set on a refusal (fn/api/errors.py): the metric's reason and the message for the log line.
    refusal: str | None = None
    error: str | None = None

    @property
    def status_line(self) -> str:
        return _STATUS_LINES.get(self.status) or f"{self.status} {HTTPStatus(self.status).phrase}"


def json_response(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, _ENCODE(value).encode(), [("Content-Type", JSON)] + (headers or []))
