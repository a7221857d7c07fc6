"""The WSGI application around a route: health, the bearer token, the 429 answer, the
contract's errors, call ids, metrics and the access log. A route takes a Request and returns a
Response; it knows nothing of WSGI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fn.api import dataplane
from fn.api.messages import Request, Response, json_response
from fn.server.auth import BearerToken
from fn.server.logs import REQUEST, AccessLog, call_id, log
from fn.server.metrics import Metrics

Route = Callable[[Request], Response]
# The watchdog's probes, and the Open Inference Protocol's (live: the process answers; ready:
# it takes requests, 503 once draining).
HEALTH_PATHS = ("/_/health", "/_/ready", "/v2/health/live", "/v2/health/ready")
# Why a request was refused, by status: the label of device_price_requests_rejected_total.
REFUSALS = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
            413: "too_large", 422: "validation", 429: "over_max_inflight"}


class App:
    # How often the server's loop hands the metrics' tally and the access log's lines on.
    FLUSH_SECONDS = 0.1

    def __init__(self, route: Route, *, access: AccessLog | None = None, metrics: Metrics | None = None,
                 max_inflight: int = 0, max_body_bytes: int = dataplane.Limits().max_body_bytes,
                 token: BearerToken | None = None, health_paths: tuple[str, ...] = HEALTH_PATHS,
                 plane: dataplane.DataPlane | None = None):
        self.route = route
        self.access = access
        self.metrics = metrics
        self.max_inflight = max_inflight
        self.max_body_bytes = max_body_bytes
        self.token = token
        self.health_paths = health_paths
        self.plane = plane  # told when draining starts: its readiness answers turn 503 too
        self._draining = False

    @property
    def draining(self) -> bool:
        """Set on SIGTERM: readiness turns 503 so that the platform stops routing here."""
        return self._draining

    @draining.setter
    def draining(self, value: bool) -> None:
        self._draining = value
        if self.plane is not None:
            self.plane.ready = not value

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        started = time.perf_counter()
        length = _content_length(environ)
        request = Request.from_wsgi(environ, b"")
        probe = request.path in self.health_paths
        context = {"call_id": call_id(request.headers)}
        REQUEST.set(context)
        if self.metrics and not probe:
            self.metrics.begin()
        try:
            authorization = request.headers.get("Authorization")
            if not probe and self.token and not self.token.allows(authorization):
                response = dataplane.failure(dataplane.Unauthorized(bool(authorization)), request.path)
            elif length > self.max_body_bytes:  # the server has read and discarded it: nothing to parse
                response = dataplane.failure(dataplane.body_too_large(length, self.max_body_bytes), request.path)
            else:
                request.body = environ["wsgi.input"].read(length) if length else b""
                response = self.health(request) if probe else self.answer(request)
        finally:
            if self.metrics and not probe:
                self.metrics.end()
        return self._send(request, response, start_response, started, context, probe)

    def overloaded(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        """The answer past max_inflight, given by the server's loop without reading the body."""
        started = time.perf_counter()
        request = Request.from_wsgi(environ, b"")
        context = {"call_id": call_id(request.headers)}
        n = self.max_inflight
        response = dataplane.error(429, f"more than {n} request{'s' if n != 1 else ''} in flight; retry shortly",
                             headers=[("Retry-After", "1")])
        return self._send(request, response, start_response, started, context, False)

    def flush(self) -> None:
        """The metrics' tally to prometheus_client, the access log's lines to stdout: called by
        the server's loop (a thread of its own would wake every worker up to take the GIL)."""
        if self.metrics is not None:
            self.metrics.flush()
        if self.access is not None:
            self.access.flush()

    def health(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return dataplane.failure(dataplane.MethodNotAllowed(request.method, "GET"), request.path)
        if request.path == "/v2/health/live":
            return json_response(200, {"live": True})
        if request.path == "/v2/health/ready":
            return json_response(503 if self.draining else 200, {"ready": not self.draining})
        if self.draining:
            return json_response(503, {"status": "draining"})
        return json_response(200, {"status": "ok"})

    def answer(self, request: Request) -> Response:
        try:
            return self.route(request)
        except dataplane.CLIENT_ERRORS as e:
            return dataplane.failure(e, request.path)
        except Exception:  # a bug, never bad input: the traceback goes to the log only
            log.exception("request failed", extra={"fields": {"method": request.method, "path": request.path[:200]}})
            return dataplane.error(500, "internal error", flat=request.path.startswith(dataplane.PROTOCOL_PATHS))

    def error_body(self, status: int, message: str) -> bytes:
        """What the server refuses before a request reaches the application, in the contract's JSON."""
        return dataplane.error(status, message).body

    def _send(self, request: Request, response: Response, start_response: Callable, started: float,
              context: dict[str, Any], probe: bool) -> list[bytes]:
        headers = response.headers + [("Content-Length", str(len(response.body))), ("X-Call-Id", context["call_id"])]
        start_response(response.status_line, headers)
        seconds = time.perf_counter() - started
        if self.metrics and not probe:
            self.metrics.answered(request.method, response.status, seconds)
            if response.status in REFUSALS:
                self.metrics.refused(REFUSALS[response.status])
        if self.access:
            reason = dataplane.error_message(response.body) if response.status >= 400 else None
            self.access.write(context["call_id"], request.method, request.path[:200], response.status, seconds * 1000,
                              context.get("rows"), reason)
        # HEAD: the GET's status and headers (its Content-Length too), no body; Waitress sends
        # whatever the application returns, which would corrupt the next answer on the connection
        return [] if request.method == "HEAD" else [response.body]


def _content_length(environ: dict[str, Any]) -> int:
    # Waitress has already buffered the whole body (chunked bodies get their length set).
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0
