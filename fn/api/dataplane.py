"""The data plane, as KServe calls it: one model behind the contract, a Request in, a Response out.

Reading the body (fn/api/body.py), validation (fn/record/features.py), the model's call and
every answer's body live here once; the routes (fn/api/routes.py) only choose which of these to
call, and every refusal is a ClientError rendered by fn/api/errors.py.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Sized
from typing import Any, Protocol

import numpy as np

from fn.api import csvio
from fn.api.body import DEFAULT, Limits, Options, read_json, read_options
from fn.api.cents import cents
from fn.api.errors import BadRequest, TooLarge, body_too_large
from fn.api.messages import Request, Response, json_response
from fn.model.explain import EXACT, EXACT_SINGLE, Explainer
from fn.model.interface import Model, price
from fn.record import advice, columns, features
from fn.record.columns import NAMES, NEW, Columns, first
from fn.record.fields import NEW_PRICE
from fn.record.problems import ValidationError, detail, json_type, quote


class Observer(Protocol):
    """Hears of every prediction and every refused record (the metrics, the log line)."""

    def predicted(self, records: Sized, batch: bool, seconds: float,
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
        self.exact_single = EXACT_SINGLE  # exact Shapley values for a single record (fn/model/explain.py)

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
        """The body as JSON, within max_body_bytes."""
        self.check_size(body)
        return read_json(body, expected)

    def parse(self, body: bytes, query: dict[str, str] | None = None) -> tuple[list[Any], bool, Options]:
        """The body as (records, is_batch, options): one record, or {"instances": [records]}, each
        with the options (features.OPTIONS) beside the fields or the instances."""
        value = self.read_json(body)
        if not isinstance(value, dict):
            raise BadRequest(f"the body must be a JSON object or {{\"instances\": [...]}}, got {json_type(value)}")
        options = read_options(value, query or {}, self.model.intervals.levels)
        if "instances" not in value:  # the options taken out of the record (a copy only if it has one)
            record = {k: v for k, v in value.items() if k not in features.OPTIONS} if _OPTIONS & value.keys() else value
            return [record], False, options
        instances = value["instances"]
        extra = sorted(set(value) - {"instances", *features.OPTIONS})
        if extra:
            raise BadRequest("a batch has only the key \"instances\"",
                             [detail(k, "is not allowed beside instances") for k in extra])
        if not isinstance(instances, list) or not instances:
            raise BadRequest("\"instances\" must be a non-empty list of records")
        rows = self.limits.max_batch_rows
        if len(instances) > rows:
            raise TooLarge(f"the batch has {len(instances)} rows; the limit is {rows}",
                           [detail("instances", f"at most {rows} rows")])
        return instances, True, options

    def predictions(self, records: list[Any], batch: bool = True, options: Options = DEFAULT) -> list[dict[str, Any]]:
        """Raw client records -> one answer per record; ValidationError lists every bad one."""
        try:
            clean = columns.check(records, batch)
        except ValidationError as e:
            if self.observe is not None:
                self.observe.invalid([d["field"] for d in e.details])
            raise
        started = time.perf_counter()
        model = self.model
        x, unknown = model.encoder.encode(clean)
        members = model.predict_members(x)
        y = price(members)
        seconds = time.perf_counter() - started
        values = y.tolist()
        warnings = advice.warnings(model.spec, clean, y, unknown)
        if self.observe is not None:
            self.observe.predicted(clean, batch, seconds, warnings)
        level = options.level or model.intervals.default
        low, high = model.intervals.bounds(members, level, clean, y)
        results = answers(clean, values, (low, high, level), warnings, model.version)
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
        """POST: one record or a batch -> predictions; raises a ClientError."""
        kind = (request.headers.get("Content-Type") or "").lower()
        if kind.startswith(csvio.MEDIA_TYPE):
            return self.predict_csv(request)
        try:
            records, batch, options = self.parse(request.body, request.query)
        except BadRequest as e:
            raise not_json(kind, request.body) or e from None
        if batch:
            return json_response(200, {"predictions": self.batch(records, options), "model_version": self.model.version})
        return json_response(200, self.predictions(records, False, options)[0])

    def predict_csv(self, request: Request) -> Response:
        """POST text/csv: the rows (a header of the dataset's column names) -> the same rows with the
        answer's columns appended, in input order and the file's own conventions; all or nothing,
        errors naming CSV lines and ids, unless invalid_rows=mark asks to price the good rows."""
        body, limits = request.body, self.limits
        self.check_size(body)
        try:
            text = body.decode(csvio.ENCODING)
        except UnicodeDecodeError as e:
            raise BadRequest(csvio.not_utf8("the CSV", e)) from None
        choices = csvio.read_choices(request.query)
        options = read_options({}, request.query, self.model.intervals.levels)
        try:
            table, chunk = csvio.read(text, limits.max_batch_rows, choices.id_column, choices.mark)
            results = csvio.price(chunk, table, lambda records: self.predictions(records, True, options), choices.mark)
        except OverflowError:
            raise TooLarge(f"the CSV has more than {limits.max_batch_rows} rows; the limit is {limits.max_batch_rows} "
                           "(python -m fn.batch prices files of any size)",
                           [detail(None, f"at most {limits.max_batch_rows} rows")]) from None
        except csv.Error as e:
            raise BadRequest(f"the body is not valid CSV: {e}") from None
        refused = sum(not isinstance(r, dict) for r in results)
        answer = csvio.rows(table.names, chunk.cells, results, fmt=table.format, mark=choices.mark)
        return Response(200, answer.encode(), [
            ("Content-Type", CSV_TYPE), (csvio.BLANK_ROWS_HEADER, str(table.blank_rows)),
            (csvio.PRICED_HEADER, str(len(results) - refused)), (csvio.REFUSED_HEADER, str(refused))])

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
            "default_level": model.intervals.default,
            "brands": model.spec["brands"],
            "os": model.spec["os"],
            "input": features.schema(),
            "manifest": model.manifest,
        }


_OPTIONS = frozenset(features.OPTIONS)
CSV_TYPE = "text/csv; charset=utf-8"
# Content-Types a spreadsheet's file arrives under when it is not sent as text/csv.
CSV_LIKE = ("application/csv", "text/comma-separated-values", "application/vnd.ms-excel", "text/tab-separated-values",
            "text/x-csv", "application/x-csv")
SEND_CSV = "send the file as the body with Content-Type: text/csv (curl -H 'Content-Type: text/csv' --data-binary @FILE.csv)"


def not_json(kind: str, body: bytes) -> BadRequest | None:
    """A body that is not JSON because it is a CSV file or a form upload: the refusal that says how
    to send it (curl -d @file.csv sends application/x-www-form-urlencoded, and drops the newlines)."""
    if kind.startswith("multipart/form-data"):
        return BadRequest(f"a form upload is not read; {SEND_CSV}", [detail(None, "multipart/form-data is not read")])
    head = body[:4096].decode("utf-8", "replace")
    if kind.startswith(CSV_LIKE) or any(name in head for name in ("device_brand,", "device_brand;", "device_brand\t")):
        return BadRequest(f"the body is not JSON but looks like CSV; {SEND_CSV}",
                          [detail(None, f"{quote(kind or 'no Content-Type')} is not text/csv")])
    return None
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


def answers(records: Columns, values: list[float], bounds: tuple[np.ndarray, np.ndarray, float],
            warnings: list[list[dict[str, str]]], version: str) -> list[dict[str, Any]]:
    """Each prediction: the predicted log price, its range, and the prices derived from them
    (math.exp row by row and round(_, 2) as cents() gives it: the same bits as ever)."""
    low, high, level = bounds
    exp, n = math.exp, len(values)
    lows, highs = low.tolist(), high.tolist()
    if n == 1:  # one record: from its dict (its columns' arrays are never made)
        record = first(records)
        given = record.get(NEW_PRICE.name)
        news, moneys = [record[NAMES[NEW]]], [math.nan if given is None else given]
    else:
        news, moneys = records.numbers[:, NEW].tolist(), records.money.tolist()
    sent = [given if given == given else exp(new) for given, new in zip(moneys, news, strict=True)]
    money = cents([*map(exp, values), *map(exp, lows), *map(exp, highs), *sent])  # NaN: not sent as money
    return [{
        "used_price": used,
        "used_price_range": {"level": level, "low": low_price, "high": high_price},
        "normalized_used_price": value,
        "normalized_used_price_range": {"level": level, "low": lo, "high": hi},
        "new_price": new_price,
        "normalized_new_price": new,
        "retained_fraction": exp(value - new),
        "model_version": version,
        "warnings": notes,
    } for value, lo, hi, new, used, low_price, high_price, new_price, notes in zip(
        values, lows, highs, news, money[:n], money[n:2 * n], money[2 * n:3 * n], money[3 * n:], warnings, strict=True)]
