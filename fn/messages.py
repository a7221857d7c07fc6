"""Request and Response: what the HTTP layer hands the routes, and what it takes back.

A Request carries the fields of OpenFaaS python3-http's `event` (body, headers, method,
query, path), so the function's handler takes it as its event unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.headers import Headers

JSON = "application/json"
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           406: "Not Acceptable", 413: "Payload Too Large", 415: "Unsupported Media Type",
           422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable"}


@dataclass
class Request:
    method: str
    path: str
    body: bytes = b""
    # Case-insensitive: headers.get("x-call-id") finds "X-Call-Id".
    headers: Headers = field(default_factory=lambda: Headers([]))
    query: dict[str, str] = field(default_factory=dict)  # the first value of each key

    @classmethod
    def from_wsgi(cls, environ: dict[str, Any], body: bytes) -> Request:
        headers = Headers([])
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers.add_header(key[5:].replace("_", "-").title(), value)
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers.add_header(key.replace("_", "-").title(), environ[key])
        query: dict[str, str] = {}
        for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
            query.setdefault(key, value)
        return cls(environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/", body, headers, query)


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", JSON)])

    @property
    def status_line(self) -> str:
        return f"{self.status} {REASONS.get(self.status, '')}".rstrip()


def json_response(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(value, separators=(",", ":")).encode(), [("Content-Type", JSON)] + (headers or []))
