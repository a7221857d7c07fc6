"""Serving on AWS Lambda: the documented Runtime API (2018-06-01) over the standard library's
http.client, in place of a listening socket.

Lambda (and its Runtime Interface Emulator) starts the image's command with
AWS_LAMBDA_RUNTIME_API=host:port. The loop asks that address for the next invocation, answers it
through the same WSGI application as the HTTP server (fn/server/lambda_events.py), writes the
access log's line, and asks again. Why not awslambdaric: it would add about 1.7 MB to the image
(its C extension, simplejson, snapshot-restore-py) for a loop of three HTTP calls. No
Prometheus endpoint: nothing can scrape a Lambda sandbox (docs/deploy.md says what to watch).
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Callable
from typing import Any

from fn.api.dataplane import DataPlane
from fn.model.interface import Model
from fn.server import lambda_events, logs, serve, start
from fn.server.app import Route
from fn.server.auth import BearerToken, TokenFileError
from fn.server.settings import Config

RUNTIME = "/2018-06-01/runtime"


class RuntimeAPI:
    """The three calls of the Runtime API a function makes, on one kept-alive connection."""

    def __init__(self, address: str):
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.connection = http.client.HTTPConnection(self.host, self.port)  # no timeout: `next` long-polls

    def _call(self, method: str, path: str, body: bytes | None = None) -> http.client.HTTPResponse:
        for attempt in (1, 2):  # once more on a fresh connection if the kept-alive one was closed
            try:
                self.connection.request(method, RUNTIME + path, body,
                                        {"Content-Type": "application/json"} if body is not None else {})
                response = self.connection.getresponse()
                response.read()  # the whole body: the connection is reused
                return response
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def next(self) -> tuple[str, bytes]:
        """Wait for the next invocation: (its request id, its event as sent)."""
        self.connection.request("GET", RUNTIME + "/invocation/next")
        response = self.connection.getresponse()
        return response.getheader("Lambda-Runtime-Aws-Request-Id", ""), response.read()

    def respond(self, request_id: str, payload: dict[str, Any]) -> None:
        self._call("POST", f"/invocation/{request_id}/response", json.dumps(payload).encode())

    def fail(self, request_id: str, message: str) -> None:
        """A function error: for a bug only, never for bad input."""
        body = {"errorMessage": message, "errorType": "InternalError"}
        self._call("POST", f"/invocation/{request_id}/error", json.dumps(body).encode())


def run(config: Config, name: str, model: Model, make_route: Callable[[DataPlane], Route],
        load_seconds: float, address: str | None = None) -> int:
    """Answer invocations until Lambda stops the sandbox (it never returns on its own)."""
    address = address or os.environ["AWS_LAMBDA_RUNTIME_API"]
    try:
        token = BearerToken(config.token_file)
    except TokenFileError as e:
        serve.say(name, f"cannot start: {e}")
        return 1
    logs.configure(config.log_format)
    # A body past Lambda's payload limit never arrives: the application's limit is at most that.
    limit = min(config.max_body_bytes, lambda_events.PAYLOAD_LIMIT)
    app = start.make_app(config, model, make_route, token, max_body_bytes=limit,
                         too_large_hint=lambda_events.TOO_LARGE_HINT)
    logs.event(f"{name} serving AWS Lambda invocations", runtime_api=address, model_version=model.version,
               model_load_seconds=round(load_seconds, 4), max_body_bytes=limit,
               auth="bearer token" if token.current() is not None else "none")
    api = RuntimeAPI(address)
    while True:
        request_id, payload = api.next()
        try:
            answer = lambda_events.invoke(app, payload, request_id)
        except Exception:  # a bug, never bad input: Lambda records a function error
            logs.log.exception("invocation failed", extra={"fields": {"call_id": request_id}})
            api.fail(request_id, "internal error")
        else:
            api.respond(request_id, answer)
        app.flush()  # the access log's line, now: the sandbox may be frozen until the next invocation
