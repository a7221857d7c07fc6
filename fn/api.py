"""The HTTP contract without HTTP: body bytes in, (status, headers, body) out.

Parsing, validation and the mapping of every failure to a status and a JSON error live
here once; the OpenFaaS handler, the function's server and the baseline server all call
these functions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from . import features
from .inference import Predictor

MAX_BATCH_ROWS = int(os.environ.get("max_batch_rows", 1000))
# 1,000 rows of ~400 bytes each fit with room to spare; Waitress refuses larger bodies itself.
MAX_BODY_BYTES = int(os.environ.get("max_body_bytes", 1 << 20))
JSON_TYPE = [("Content-Type", "application/json")]


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=lambda: list(JSON_TYPE))


class BadRequest(Exception):
    """A failure the client caused, with the status the contract gives it."""

    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or []


def json_response(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(value, separators=(",", ":")).encode(), list(JSON_TYPE) + (headers or []))


def error(status: int, message: str, details: list[dict[str, Any]] | None = None,
          headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response(status, {"error": {"message": message, "details": details or []}}, headers)


def _reject_constant(name: str) -> None:
    raise BadRequest(400, f"the body is not valid JSON: {name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise BadRequest(400, f"the body is not valid JSON for this API: the key {key!r} appears twice",
                             [{"row": None, "field": key, "reason": "duplicate key"}])
        seen[key] = value
    return seen


def parse(body: bytes) -> tuple[list[Any], bool]:
    """The body as (records, is_batch), whatever the Content-Type (faas-cli sends text/plain)."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(413, f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    if not body.strip():
        raise BadRequest(400, "the body is empty; send a JSON object or {\"instances\": [...]}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(400, f"the body is not UTF-8 (byte {e.start})") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise BadRequest(400, "the body is not acceptable JSON: nested too deeply") from None
    except ValueError as e:
        raise BadRequest(400, f"the body is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise BadRequest(400, f"the body must be a JSON object or {{\"instances\": [...]}}, got {type(value).__name__}")
    if "instances" not in value:
        return [value], False
    instances = value["instances"]
    extra = sorted(set(value) - {"instances"})
    if extra:
        raise BadRequest(400, "a batch has only the key \"instances\"",
                         [{"row": None, "field": k, "reason": "is not allowed beside instances"} for k in extra])
    if not isinstance(instances, list) or not instances:
        raise BadRequest(400, "\"instances\" must be a non-empty list of records")
    if len(instances) > MAX_BATCH_ROWS:
        raise BadRequest(413, f"the batch has {len(instances)} rows; the limit is {MAX_BATCH_ROWS}",
                         [{"row": None, "field": "instances", "reason": f"at most {MAX_BATCH_ROWS} rows"}])
    return instances, True


def predict(predictor: Predictor, body: bytes) -> Response:
    """POST: one record or a batch -> predictions, or the contract's error."""
    try:
        records, batch = parse(body)
        results = predictor.predict(records, batch)
    except BadRequest as e:
        return error(e.status, e.message, e.details)
    except features.ValidationError as e:
        return error(422, e.message, e.details)
    if batch:
        for r in results:
            del r["model_version"]
        return json_response(200, {"predictions": results, "model_version": predictor.version})
    return json_response(200, results[0])


def metadata(predictor: Predictor) -> Response:
    return json_response(200, predictor.metadata())


def method_not_allowed(method: str, allowed: str) -> Response:
    return error(405, f"method {method} is not allowed here; use {allowed}", headers=[("Allow", allowed)])
