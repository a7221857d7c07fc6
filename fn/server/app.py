"""The WSGI application around a route: the bearer token (probes skip it and the metrics), the
429 answer, the contract's errors, call ids, metrics and the access log. A route takes a Request
and returns a Response; it knows nothing of WSGI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fn.api import errors
from fn.api.body import Limits
from fn.api.dataplane import DataPlane
from fn.api.messages import Request, Response
from fn.api.operations import PROBES
from fn.record.problems import ClientError
from fn.server.auth import BearerToken
from fn.server.logs import REQUEST, AccessLog, call_id, log
from fn.server.metrics import Metrics

Route = Callable[[Request], Response]
# The WSGI environ key where a platform that names each call (AWS Lambda's request id) puts its id:
# the call id when the caller sent none (fn/server/lambda_events.py).
PLATFORM_CALL_ID = "fn.platform_call_id"


class App:
    # How often the server's loop hands the metrics' tally and the access log's lines on.
    FLUSH_SECONDS = 0.1

    def __init__(self, route: Route, *, access: AccessLog | None = None, metrics: Metrics | None = None,
                 max_inflight: int = 0, max_body_bytes: int = Limits.max_body_bytes,
                 token: BearerToken | None = None, plane: DataPlane | None = None, too_large_hint: str = ""):
        self.route = route
        self.access = access
        self.metrics = metrics
        self.max_inflight = max_inflight
        self.max_body_bytes = max_body_bytes
        self.token = token
        self.plane = plane  # holds readiness: the probes (fn/api/routes.py) answer from it
        self.too_large_hint = too_large_hint  # the platform's own limit, said in a 413 (AWS Lambda's 6 MB)

    @property
    def draining(self) -> bool:
        """Set on SIGTERM: readiness turns 503 so that the platform stops routing here."""
        return self.plane is not None and not self.plane.ready

    @draining.setter
    def draining(self, value: bool) -> None:
        if self.plane is not None:
            self.plane.ready = not value

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        started = time.perf_counter()
        length = _content_length(environ)
        request = Request.from_wsgi(environ, b"")
        probe = request.path in PROBES  # the platform's health checks: no token, not counted
        context = {"call_id": call_id(request.headers, environ.get(PLATFORM_CALL_ID))}
        request.call_id = context["call_id"]
        REQUEST.set(context)
        if self.metrics and not probe:
            self.metrics.begin()
        try:
            authorization = request.headers.get("Authorization")
            if not probe and self.token and not self.token.allows(authorization):
                response = errors.render(errors.Unauthorized(bool(authorization)), request.path)
            elif length > self.max_body_bytes:  # the server has read and discarded it: nothing to parse
                response = errors.render(errors.body_too_large(length, self.max_body_bytes, self.too_large_hint),
                                         request.path)
            else:
                request.body = environ["wsgi.input"].read(length) if length else b""
                response = self.answer(request)
        finally:
            if self.metrics and not probe:
                self.metrics.end()
        return self._send(request, response, start_response, started, context, probe)

    def overloaded(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        """The answer past max_inflight, given by the server's loop without reading the body."""
        started = time.perf_counter()
        request = Request.from_wsgi(environ, b"")
        context = {"call_id": call_id(request.headers)}
        response = errors.render(errors.Overloaded(self.max_inflight), request.path)
        return self._send(request, response, start_response, started, context, False)

    def flush(self) -> None:
        """The metrics' tally to prometheus_client, the access log's lines to stdout: called by
        the server's loop (a thread of its own would wake every worker up to take the GIL)."""
        if self.metrics is not None:
            self.metrics.flush()
        if self.access is not None:
            self.access.flush()

    def answer(self, request: Request) -> Response:
        try:
            return self.route(request)
        except ClientError as e:
            return errors.render(e, request.path)
        except Exception:  # a bug, never bad input: the traceback goes to the log only
            log.exception("request failed", extra={"fields": {"method": request.method, "path": request.path[:200]}})
            return errors.internal(request.path)

    def error_body(self, status: int, message: str) -> bytes:
        """What the server refuses before a request reaches the application, in the contract's JSON."""
        return errors.refused_by_server(status, message).body

    def _send(self, request: Request, response: Response, start_response: Callable, started: float,
              context: dict[str, Any], probe: bool) -> list[bytes]:
        headers = response.headers + [("Content-Length", str(len(response.body))), ("X-Call-Id", context["call_id"])]
        start_response(response.status_line, headers)
        seconds = time.perf_counter() - started
        if self.metrics and not probe:
            self.metrics.answered(request.method, response.status, seconds)
            if response.refusal is not None:
                self.metrics.refused(response.refusal)
        if self.access:
            self.access.write(context["call_id"], request.method, request.path[:200], response.status, seconds * 1000,
                              context.get("rows"), response.error)
        # HEAD: the GET's status and headers (its Content-Length too), no body; Waitress sends
        # whatever the application returns, which would corrupt the next answer on the connection
        return [] if request.method == "HEAD" else [response.body]


def _content_length(environ: dict[str, Any]) -> int:
    # Waitress has already buffered the whole body (chunked bodies get their length set).
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0
