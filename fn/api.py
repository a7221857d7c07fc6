"""The HTTP contract without HTTP: a Request in, a Response out.

Parsing, validation, every answer's body and the mapping of every failure to a status live
here once (the data plane, as KServe calls it); the function's handler and the baseline's
routes only choose which of these to call.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from . import advice, csvio, features
from .explain import EXACT, EXACT_SINGLE, Explainer
from .messages import Request, Response, json_response
from .model import Model


class ClientError(Exception):
    """A failure the client caused; its status comes from STATUS, by class."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None,
                 headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.message, self.details, self.headers = message, details or [], headers or []


class BadRequest(ClientError):
    """The body is not a request of this API (not JSON, wrong shape)."""


class TooLarge(ClientError):
    """The body or the batch is over its limit."""


class NotFound(ClientError):
    pass


class Unauthorized(ClientError):
    """No bearer token, or not the one in force (never quoted back)."""

    def __init__(self, sent: bool):
        challenge = 'Bearer realm="device-price"' + (', error="invalid_token"' if sent else "")
        super().__init__("a wrong bearer token" if sent else "this service needs Authorization: Bearer <token>",
                         headers=[("WWW-Authenticate", challenge)])


class MethodNotAllowed(ClientError):
    def __init__(self, method: str, allowed: str):
        super().__init__(f"method {method} is not allowed here; use {allowed}", headers=[("Allow", allowed)])


# The one table from failure to status. A ValidationError is a well-formed request whose
# values are wrong; anything not listed is a bug and becomes 500 in the HTTP layer.
STATUS: dict[type[Exception], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    NotFound: 404,
    MethodNotAllowed: 405,
    TooLarge: 413,
    features.ValidationError: 422,
}


CLIENT_ERRORS = tuple(STATUS)
# The standard protocols (v1, v2) answer every bad input with 400, a wrong value included.
PROTOCOL_STATUS = {**STATUS, features.ValidationError: 400}
# Paths of the standard protocols: their errors take the protocols' shape, {"error": "<message>"}.
PROTOCOL_PATHS = ("/v1/", "/v2")


def error(status: int, message: str, details: list[dict[str, Any]] | None = None,
          headers: list[tuple[str, str]] | None = None, flat: bool = False) -> Response:
    """An error answer: the native {"error": {"message", "details"}}, or with `flat` the standard
    protocols' {"error": "<message>"} with the same details beside it."""
    body = {"error": message, "details": details or []} if flat else \
        {"error": {"message": message, "details": details or []}}
    return json_response(status, body, headers)


def failure(e: Exception, path: str = "/") -> Response:
    """The answer to one of CLIENT_ERRORS, in the shape of the API that `path` belongs to."""
    flat = path.startswith(PROTOCOL_PATHS)
    status = next(status for kind, status in (PROTOCOL_STATUS if flat else STATUS).items() if isinstance(e, kind))
    return error(status, getattr(e, "message", str(e)), getattr(e, "details", []), getattr(e, "headers", []), flat)


def error_message(body: bytes) -> str | None:
    """An error answer's message, in either shape (for the log line)."""
    try:
        value = json.loads(body)["error"]
        return (value if isinstance(value, str) else value["message"])[:200]
    except (ValueError, KeyError, TypeError):
        return None


def body_too_large(length: int, limit: int) -> TooLarge:
    return TooLarge(f"the body is {length} bytes; the limit is {limit}",
                    [{"row": None, "field": None, "reason": f"at most {limit} bytes"}])


def _reject_constant(name: str) -> None:
    raise BadRequest(f"the body is not valid JSON: {name} is not a JSON number")


def _parse_int(digits: str) -> int | float:
    # Python refuses to convert integers of over 4,300 digits, with advice about Python; no
    # field takes more than a few digits, so a long one becomes a float (inf past 308 digits)
    # and is refused by the field's range check, in the API's words.
    return int(digits) if len(digits) <= 20 else float(digits)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen = dict(pairs)  # in C; a key twice makes it shorter than the pairs
    if len(seen) == len(pairs):
        return seen
    keys: set[str] = set()
    for key, _ in pairs:
        if key in keys:
            raise BadRequest(f"the body is not valid JSON for this API: the key {features.quote(key)} appears twice",
                             [{"row": None, "field": key[:40], "reason": "duplicate key"}])
        keys.add(key)
    raise AssertionError("unreachable: a shorter dict has a repeated key")


@dataclass(frozen=True)
class Limits:
    max_batch_rows: int = 1000
    # 1,000 rows of ~400 bytes each fit with room to spare; the server refuses larger bodies itself.
    max_body_bytes: int = 1 << 20


@dataclass(frozen=True)
class Options:
    """What to add to the answers, asked for in the body or the query string."""
    level: float = 0.9  # of the price range: one of the model's intervals.levels
    explain: bool = False


DEFAULT = Options()
TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def read_options(given: dict[str, Any], query: dict[str, str], levels: tuple[float, ...]) -> Options:
    """Options from the body's option keys, else the query string; a wrong one names itself."""
    problems, values = [], {}
    for name in features.OPTIONS:
        value = given[name] if name in given else query.get(name)
        if value is None:
            continue
        if name == "explain":
            flag = TRUE_FALSE.get(value.lower()) if isinstance(value, str) else value if isinstance(value, bool) else None
            if flag is None:
                problems.append({"row": None, "field": name, "reason": "must be true or false"})
            values[name] = flag
        else:
            try:
                level = float(value) if not isinstance(value, bool) else None
            except (TypeError, ValueError):
                level = None
            if level not in levels:
                problems.append({"row": None, "field": name,
                                 "reason": f"must be one of {', '.join(f'{v:g}' for v in levels)}"})
            values[name] = level
    if problems:
        raise features.ValidationError("an option is invalid", problems)
    return Options(**values)


class Observer(Protocol):
    """Hears of every prediction and every refused record (the metrics, the log line)."""

    def predicted(self, records: list[dict[str, Any]], batch: bool, seconds: float,
                  warnings: list[list[dict[str, str]]]) -> None:
        """the cleaned records encoded and predicted in `seconds`, and each one's warnings"""

    def invalid(self, fields: list[str | None]) -> None:
        """the field of each problem found in refused records"""


class DataPlane:
    """One model behind the contract: predictions and metadata as Responses. `observe` hears of
    every prediction (the metrics); it never changes an answer."""

    def __init__(self, model: Model, limits: Limits | None = None, observe: Observer | None = None):
        self.model = model
        self.ready = True  # False once draining: the readiness answers turn 503
        self.limits = limits or Limits()
        self.observe = observe
        self._explainer: Explainer | None = None
        self.exact_single = EXACT_SINGLE  # exact Shapley values for a single record (fn/explain.py)

    @property
    def explainer(self) -> Explainer:
        """Built on the first explanation asked for: most processes never need one."""
        if self._explainer is None:
            self._explainer = Explainer(self.model)
        return self._explainer

    def check_size(self, body: bytes) -> None:
        """TooLarge past max_body_bytes (the servers refuse larger bodies before they get here)."""
        if len(body) > self.limits.max_body_bytes:
            raise body_too_large(len(body), self.limits.max_body_bytes)

    def read_json(self, body: bytes, expected: str = "a JSON object or {\"instances\": [...]}") -> Any:
        """The body as JSON, whatever the Content-Type (faas-cli sends text/plain)."""
        self.check_size(body)
        if not body.strip():
            raise BadRequest(f"the body is empty; send {expected}")
        try:
            text = body.decode("utf-8-sig")  # a byte order mark is harmless: accepted
        except UnicodeDecodeError as e:
            raise BadRequest(f"the body is not UTF-8 (byte {e.start})") from None
        try:
            value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates,
                               parse_int=_parse_int)
        except RecursionError:
            raise BadRequest("the body is not acceptable JSON: nested too deeply") from None
        except ValueError as e:
            raise BadRequest(f"the body is not valid JSON: {e}") from None
        return value

    def parse(self, body: bytes, query: dict[str, str] | None = None) -> tuple[list[Any], bool, Options]:
        """The body as (records, is_batch, options): one record, or {"instances": [records]}, each
        with the options (features.OPTIONS) beside the fields or the instances."""
        value = self.read_json(body)
        if not isinstance(value, dict):
            raise BadRequest(f"the body must be a JSON object or {{\"instances\": [...]}}, got {features.json_type(value)}")
        options = read_options(value, query or {}, self.model.intervals.levels)
        if "instances" not in value:
            return [{k: v for k, v in value.items() if k not in features.OPTIONS}], False, options
        instances = value["instances"]
        extra = sorted(set(value) - {"instances", *features.OPTIONS})
        if extra:
            raise BadRequest("a batch has only the key \"instances\"",
                             [{"row": None, "field": k[:40], "reason": "is not allowed beside instances"} for k in extra])
        if not isinstance(instances, list) or not instances:
            raise BadRequest("\"instances\" must be a non-empty list of records")
        rows = self.limits.max_batch_rows
        if len(instances) > rows:
            raise TooLarge(f"the batch has {len(instances)} rows; the limit is {rows}",
                           [{"row": None, "field": "instances", "reason": f"at most {rows} rows"}])
        return instances, True, options

    def predictions(self, records: list[Any], batch: bool = True, options: Options = DEFAULT) -> list[dict[str, Any]]:
        """Raw client records -> one answer per record; ValidationError lists every bad one."""
        try:
            clean = features.check_records(records, batch)
        except features.ValidationError as e:
            if self.observe is not None:
                self.observe.invalid([d["field"] for d in e.details])
            raise
        started = time.perf_counter()
        model = self.model
        x, unknown = model.encoder.encode(clean)
        members = model.predict_members(x)
        y = members.mean(axis=1)
        seconds = time.perf_counter() - started
        values = y.tolist()
        warnings = [notes + advice.record_warnings(model.spec, record, value)
                    for record, value, notes in zip(clean, values, unknown, strict=True)]
        if self.observe is not None:
            self.observe.predicted(clean, batch, seconds, warnings)
        low, high = model.intervals.bounds(members, options.level, clean)
        results = [answer(record, value, (lo, hi, options.level), notes, model.version)
                   for record, value, lo, hi, notes in zip(clean, values, low.tolist(), high.tolist(), warnings,
                                                           strict=True)]
        if options.explain and not batch and self.exact_single:
            reference, share = self.explainer.exact(x, values[0])
            results[0]["explanation"] = self.explainer.explanation(reference, share, EXACT)
        elif options.explain:
            explainer = self.explainer
            for at in range(0, len(results), EXPLAIN_CHUNK):  # bounded memory for a large batch
                reference, shares = explainer.contributions(x[at:at + EXPLAIN_CHUNK], y[at:at + EXPLAIN_CHUNK])
                for result, share in zip(results[at:at + EXPLAIN_CHUNK], shares, strict=True):
                    result["explanation"] = explainer.explanation(reference, share)
        return results

    def predict(self, request: Request) -> Response:
        """POST: one record or a batch -> predictions; raises one of CLIENT_ERRORS."""
        if (request.headers.get("Content-Type") or "").lower().startswith(csvio.MEDIA_TYPE):
            return self.predict_csv(request)
        records, batch, options = self.parse(request.body, request.query)
        if batch:
            return json_response(200, {"predictions": self.batch(records, options), "model_version": self.model.version})
        return json_response(200, self.predictions(records, False, options)[0])

    def predict_csv(self, request: Request) -> Response:
        """POST text/csv: the rows (a header of the dataset's column names) -> the same rows with the
        answer's columns appended, in input order; all or nothing, errors naming CSV lines."""
        body, limits = request.body, self.limits
        self.check_size(body)
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise BadRequest(f"the CSV is not UTF-8 (byte {e.start})") from None
        options = read_options({}, request.query, self.model.intervals.levels)
        try:
            names, cells, records = csvio.parse(text, limits.max_batch_rows)
            answers = self.predictions(records, True, options)
        except OverflowError:
            raise TooLarge(f"the CSV has more than {limits.max_batch_rows} rows; the limit is {limits.max_batch_rows} "
                           "(python -m fn.batch prices files of any size)",
                           [{"row": None, "field": None, "reason": f"at most {limits.max_batch_rows} rows"}]) from None
        except features.ValidationError as e:
            raise csvio.with_lines(e) from None
        except csv.Error as e:
            raise BadRequest(f"the body is not valid CSV: {e}") from None
        return Response(200, csvio.rows(names, cells, answers).encode(), [("Content-Type", CSV_TYPE)])

    def batch(self, records: list[Any], options: Options = DEFAULT) -> list[dict[str, Any]]:
        """A batch's answers, in input order, without the model version each (the batch says it once)."""
        results = self.predictions(records, True, options)
        for r in results:
            del r["model_version"]
        return results

    def metadata(self) -> dict[str, Any]:
        model = self.model
        return {
            "model_version": model.version,
            "runtime": model.runtime,
            "output": OUTPUT,
            "levels": list(model.intervals.levels),
            "brands": model.spec["brands"],
            "os": model.spec["os"],
            "input": features.schema(),
            "manifest": model.manifest,
        }


CSV_TYPE = "text/csv; charset=utf-8"
EXPLAIN_CHUNK = 100  # records explained per model invoke

OUTPUT = {
    "used_price": f"the predicted used price, in {features.CURRENCY}, rounded to cents: a median-type estimate "
                  "(exp of the predicted log price: about half the real prices lie above it, and their mean is "
                  "higher; the model card says by how much)",
    "used_price_range": "the calibrated range: over devices like the training data, the used price lies in "
                        "[low, high] for `level` of them (see the model card); money rounded to cents",
    "normalized_used_price": "natural log of the predicted used price (unrounded)",
    "normalized_used_price_range": "used_price_range on the log scale",
    "new_price": "the new price, as sent or exp(normalized_new_price), rounded to cents",
    "normalized_new_price": "natural log of the new price",
    "retained_fraction": "used_price / new_price; above 1 (no training device kept its whole new price) it is "
                         "flagged, not clipped, with an above_new_price warning: the new price sent is then most "
                         "likely wrong",
    "warnings": "[{field, code, message}]: what to check before trusting the price (codes: "
                + ", ".join(advice.CODES) + ")",
    "explanation": "with explain=true: each field's contribution in price units; they add up to "
                   "used_price - reference_price (before rounding)",
    "currency": features.CURRENCY,
}


def _cents(value: float) -> float:
    return round(value, 2)


def answer(record: dict[str, Any], value: float, bounds: tuple[float, float, float], warnings: list[dict[str, str]],
           version: str) -> dict[str, Any]:
    """One prediction: the predicted log price, its range, and the prices derived from them."""
    low, high, level = bounds
    new = record["normalized_new_price"]
    return {
        "used_price": _cents(math.exp(value)),
        "used_price_range": {"level": level, "low": _cents(math.exp(low)), "high": _cents(math.exp(high))},
        "normalized_used_price": value,
        "normalized_used_price_range": {"level": level, "low": low, "high": high},
        "new_price": _cents(record.get(features.NEW_PRICE.name) or math.exp(new)),
        "normalized_new_price": new,
        "retained_fraction": math.exp(value - new),
        "model_version": version,
        "warnings": warnings,
    }
