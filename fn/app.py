"""The WSGI application around a route: health, the 429 answer, the contract's errors, the
access log. A route takes a Request and returns a Response; it knows nothing of WSGI.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from . import api
from .auth import BearerToken
from .messages import Request, Response, json_response

Route = Callable[[Request], Response]
HEALTH_PATHS = ("/_/health", "/_/ready")
log = logging.getLogger("device-price")


class App:
    def __init__(self, route: Route, *, access_log: bool = True, max_inflight: int = 0,
                 max_body_bytes: int = api.Limits().max_body_bytes, token: BearerToken | None = None,
                 health_paths: tuple[str, ...] = HEALTH_PATHS):
        self.route = route
        self.max_body_bytes = max_body_bytes
        self.token = token
        self.access_log = access_log
        self.max_inflight = max_inflight
        self.health_paths = health_paths
        self.draining = False  # set on SIGTERM: health turns 503 so the platform stops routing here
        self._log_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        started = time.perf_counter()
        length = _content_length(environ)
        path = environ.get("PATH_INFO") or "/"
        if path not in self.health_paths and self.token and not self.token.allows(environ.get("HTTP_AUTHORIZATION")):
            request = Request.from_wsgi(environ, b"")
            response = api.failure(api.Unauthorized(bool(environ.get("HTTP_AUTHORIZATION"))))
        elif length > self.max_body_bytes:  # the server has read and discarded it: nothing to parse
            request = Request.from_wsgi(environ, b"")
            response = api.failure(api.body_too_large(length, self.max_body_bytes))
        else:
            request = Request.from_wsgi(environ, environ["wsgi.input"].read(length) if length else b"")
            response = self.health(request) if request.path in self.health_paths else self.answer(request)
        return self._send(environ, request, response, start_response, started)

    def error_body(self, status: int, message: str) -> bytes:
        """What the server refuses before a request reaches the application, in the contract's JSON."""
        return api.error(status, message).body

    def overloaded(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        """The answer past max_inflight, given by the server's loop without reading the body."""
        started = time.perf_counter()
        request = Request.from_wsgi(environ, b"")
        n = self.max_inflight
        response = api.error(429, f"more than {n} request{'s' if n != 1 else ''} in flight; retry shortly",
                             headers=[("Retry-After", "1")])
        return self._send(environ, request, response, start_response, started)

    def health(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return api.failure(api.MethodNotAllowed(request.method, "GET"))
        if self.draining:
            return json_response(503, {"status": "draining"})
        return json_response(200, {"status": "ok"})

    def answer(self, request: Request) -> Response:
        try:
            return self.route(request)
        except api.CLIENT_ERRORS as e:
            return api.failure(e)
        except Exception:  # a bug, never bad input: the client gets no traceback
            log.exception("request failed: %s %s", request.method, request.path)
            return api.error(500, "internal error")

    def _send(self, environ: dict[str, Any], request: Request, response: Response, start_response: Callable,
              started: float) -> list[bytes]:
        start_response(response.status_line, response.headers + [("Content-Length", str(len(response.body)))])
        if self.access_log:
            ms = (time.perf_counter() - started) * 1000
            line = (f"{environ.get('REMOTE_ADDR', '-')} {request.method} {request.path} {response.status} "
                    f"{len(response.body)} {ms:.2f}ms\n")
            with self._log_lock:
                sys.stdout.write(line)
                sys.stdout.flush()
        return [response.body]


def _content_length(environ: dict[str, Any]) -> int:
    # Waitress has already buffered the whole body (chunked bodies get their length set).
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0
