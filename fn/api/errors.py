"""The API's refusals and the one function that renders any refusal as an answer.

Each class carries its status, metric reason and protocol status (fn/record/problems.py); the
shape follows the path: the native API answers {"error": {"message", "details"}}, the standard
protocols (/v1/, /v2) {"error": "<message>", "details": [...]}.
"""

from __future__ import annotations

from fn.api.messages import Response, json_response
from fn.record.problems import ClientError, ValidationError, detail

# Paths of the standard protocols: their errors take the protocols' shape and status.
PROTOCOL_PATHS = ("/v1/", "/v2")


class BadRequest(ClientError):
    """The body is not a request of this API (not JSON, wrong shape)."""


class Unauthorized(ClientError):
    """No bearer token, or not the one in force (never quoted back)."""

    status, reason, summary = 401, "unauthorized", "a bearer token is needed or wrong"

    def __init__(self, sent: bool):
        challenge = 'Bearer realm="device-price"' + (', error="invalid_token"' if sent else "")
        super().__init__("a wrong bearer token" if sent else "this service needs Authorization: Bearer <token>",
                         headers=[("WWW-Authenticate", challenge)])


class NotFound(ClientError):
    status, reason, summary = 404, "not_found", "no such model, version or path"


class MethodNotAllowed(ClientError):
    status, reason, summary = 405, "method_not_allowed", "method not allowed here"

    def __init__(self, method: str, allowed: str):
        super().__init__(f"method {method} is not allowed here; use {allowed}", headers=[("Allow", allowed)])


class TooLarge(ClientError):
    """The body or the batch is over its limit."""

    status, reason, summary = 413, "too_large", "body or batch over its limit"


class Overloaded(ClientError):
    """Past max_inflight: answered by the server's loop before the body is read."""

    status, reason, summary = 429, "over_max_inflight", "over max_inflight; retry after Retry-After"

    def __init__(self, limit: int):
        super().__init__(f"more than {limit} request{'s' if limit != 1 else ''} in flight; retry shortly",
                         headers=[("Retry-After", "1")])


# Every refusal, in status order (the OpenAPI document describes each status from its class).
REFUSALS: tuple[type[ClientError], ...] = (BadRequest, Unauthorized, NotFound, MethodNotAllowed, TooLarge,
                                           ValidationError, Overloaded)


def is_protocol(path: str) -> bool:
    return path.startswith(PROTOCOL_PATHS)


def render(e: ClientError, path: str = "/") -> Response:
    """The answer to a refusal, in the shape and status of the API that `path` belongs to."""
    protocol = is_protocol(path)
    response = _shaped(e.status_for(protocol), e.message, e.details, e.headers, protocol)
    response.refusal = e.reason
    return response


def internal(path: str = "/") -> Response:
    """A bug, never bad input: the same shape, no detail (the traceback goes to the log only)."""
    return _shaped(500, "internal error", [], [], is_protocol(path))


def refused_by_server(status: int, message: str) -> Response:
    """What the HTTP server refuses before a request reaches the application (a malformed request
    line, say), in the native shape."""
    return _shaped(status, message, [], [], False)


def _shaped(status: int, message: str, details: list[dict], headers: list[tuple[str, str]],
            protocol: bool) -> Response:
    body = {"error": message, "details": details} if protocol else {"error": {"message": message, "details": details}}
    response = json_response(status, body, headers)
    response.error = message
    return response


def body_too_large(length: int, limit: int, hint: str = "") -> TooLarge:
    """`hint`: what else the platform says of large bodies (AWS Lambda's payload limit)."""
    return TooLarge(f"the body is {length} bytes; the limit is {limit}" + (f" ({hint})" if hint else ""),
                    [detail(None, f"at most {limit} bytes")])
