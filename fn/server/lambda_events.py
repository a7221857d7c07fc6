"""AWS Lambda's HTTP events onto the WSGI application (fn/server/app.py), and its answer back.

Three event shapes carry an HTTP request to a Lambda function: a Function URL's and an HTTP
API's (payload format 2.0) and a REST API's (payload format 1.0). Each becomes the WSGI environ
that Waitress would have made of the same request, so every path, refusal, header, call id and
access-log line is the HTTP function's. The answer goes back as the `statusCode` / `headers` /
`body` object both formats take: a refusal is a 4xx in `statusCode` with the API's problem body,
never a Lambda function error. Standard library only: this is the image.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlencode

from fn.api import errors
from fn.api.messages import Response
from fn.record.problems import ClientError, detail
from fn.server.app import PLATFORM_CALL_ID, App
from fn.server.logs import event as log_event

# A synchronous invocation's request and its response are each at most 6 MB (AWS Lambda quotas,
# "Invocation payload (request and response)": 6 MB each, 6,291,456 bytes).
PAYLOAD_LIMIT = 6 * 1024 * 1024
TOO_LARGE_HINT = ("on AWS Lambda a synchronous request is at most 6 MB (6291456 bytes) with its event; "
                  "price larger files with python -m fn.batch")
# What the service computes itself (a HEAD's answer has the GET's Content-Length and no body).
_DROPPED = frozenset({"content-length"})


class NotHTTP(errors.BadRequest):
    """The event is not an HTTP request (a direct invocation with a record, say)."""


def environ(event: Any, request_id: str) -> dict[str, Any]:
    """The WSGI environ of a payload 2.0 or 1.0 event; NotHTTP for any other event."""
    if not isinstance(event, dict):
        raise NotHTTP("the event is not an HTTP request: send a Function URL, HTTP API (payload 2.0) or REST API "
                      "(payload 1.0) event")
    context = event.get("requestContext") or {}
    if event.get("version") == "2.0" and isinstance(context.get("http"), dict):
        method = context["http"].get("method", "GET")
        path = unquote(event.get("rawPath") or context["http"].get("path") or "/")
        query = event.get("rawQueryString") or ""
        headers = dict(event.get("headers") or {})
        if event.get("cookies"):
            headers["cookie"] = "; ".join(event["cookies"])
    elif "httpMethod" in event:
        method, path = event["httpMethod"], event.get("path") or "/"
        many = event.get("multiValueQueryStringParameters") or {
            k: [v] for k, v in (event.get("queryStringParameters") or {}).items()}
        query = urlencode([(k, v) for k, values in many.items() for v in values])
        headers = {k: ", ".join(v) for k, v in (event.get("multiValueHeaders") or {}).items()} \
            or dict(event.get("headers") or {})
    else:
        raise NotHTTP("the event is not an HTTP request: send a Function URL, HTTP API (payload 2.0) or REST API "
                      "(payload 1.0) event")
    body = _body(event)
    env = {"REQUEST_METHOD": method.upper(), "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
           "SERVER_NAME": "lambda", "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "https",
           "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), PLATFORM_CALL_ID: request_id}
    for name, value in headers.items():
        key = name.lower()
        if key == "content-type":
            env["CONTENT_TYPE"] = value
        elif key != "content-length":  # the decoded body's own length stands
            env["HTTP_" + key.upper().replace("-", "_")] = value
    return env


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise errors.BadRequest("the event's body is marked isBase64Encoded but is not base64") from None


def answer(status_line: str, headers: Iterable[tuple[str, str]], body: bytes) -> dict[str, Any]:
    """The object both payload formats take: text as it is, anything else in base64."""
    joined: dict[str, str] = {}
    for name, value in headers:
        if name.lower() not in _DROPPED:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    return {"statusCode": int(status_line.split(" ", 1)[0]), "headers": joined, "body": text,
            "isBase64Encoded": encoded}


def read(payload: bytes) -> Any:
    """The invocation's event. Lambda refuses an event over PAYLOAD_LIMIT itself; its emulator
    cuts it at that size instead, and what is cut is refused here as Lambda would."""
    try:
        return json.loads(payload)
    except ValueError:
        if len(payload) >= PAYLOAD_LIMIT:
            raise errors.TooLarge(f"the event is over AWS Lambda's limit for a synchronous request, 6 MB "
                                  f"({PAYLOAD_LIMIT} bytes); price larger files with python -m fn.batch",
                                  [detail(None, f"at most {PAYLOAD_LIMIT} bytes")]) from None
        raise NotHTTP("the event is not JSON") from None


def invoke(app: App, payload: bytes, request_id: str) -> dict[str, Any]:
    """One invocation through the application, as one HTTP request; an event that is no HTTP
    request gets the native API's 400 (one over Lambda's limit its 413), with a log line of its own."""
    try:
        env = environ(read(payload), request_id)
    except ClientError as e:
        log_event("refused an event", call_id=request_id, status=e.status, reason=e.message)
        refused: Response = errors.render(e)
        return answer(refused.status_line, refused.headers + [("X-Call-Id", request_id)], refused.body)
    started: list[Any] = []
    start_response: Callable[..., None] = lambda status, headers: started.extend((status, headers))  # noqa: E731
    body = b"".join(app(env, start_response))
    return answer(started[0], started[1], body)
