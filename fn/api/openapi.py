"""The OpenAPI 3.1 document of all three protocols, generated from the feature specification
(fn/record/fields.py: names, types, ranges, units) and the one table of operations
(fn/api/operations.py), so that it cannot drift from what is checked.

Served at GET /openapi.json by the function and the server; committed as docs/openapi.json
(`python -m scripts.openapi` rewrites it; a test holds it current).
"""

from __future__ import annotations

import functools
from typing import Any

from fn import __version__
from fn.api import v2
from fn.api.body import Limits
from fn.api.csvio import ANSWER_COLUMNS, BLANK_ROWS_HEADER, INVALID_ROWS, PRICED_HEADER, PROBLEM_COLUMN, REFUSED_HEADER
from fn.api.csvio import MEDIA_TYPE as CSV
from fn.api.dataplane import OUTPUT
from fn.api.errors import REFUSALS, Overloaded, Unauthorized
from fn.api.operations import OPERATIONS, Operation
from fn.record.advice import CODES
from fn.record.fields import (
    ALTERNATIVE,
    CATEGORICAL,
    CURRENCY,
    EXAMPLE,
    FLAGS,
    MAX_TEXT,
    NEW_PRICE,
    NUMERIC,
    OTHERS,
    REQUIRED,
)

REF = "#/components/schemas/"
JSON = "application/json"
HTML = "text/html"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _field_schemas() -> dict[str, Any]:
    """One JSON Schema per field of a record, from the declarations."""
    fields: dict[str, Any] = {}
    for name in CATEGORICAL:
        fields[name] = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"\S",
                        "description": f"free text; one outside the training vocabulary counts as {OTHERS!r} "
                                       "(with a warning)"}
    for name in FLAGS:
        fields[name] = {"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["yes", "no"]}],
                        "description": "supports the network: true/false or \"yes\"/\"no\""}
    for f in NUMERIC:
        kind = "integer" if f.integer else "number"
        schema: dict[str, Any] = {"type": kind if f.required else [kind, "null"], "maximum": f.high}
        schema["exclusiveMinimum" if f.positive else "minimum"] = 0 if f.positive else f.low
        if f.positive and f.low > 0:
            schema["minimum"] = f.low
        unit = f" in {f.unit}" if f.unit else ""
        schema["description"] = (f"{f.name}{unit}" + ("" if f.required else
                                                     "; optional: a missing value (or null) is imputed with the "
                                                     "training median"))
        fields[f.name] = schema
    fields[NEW_PRICE.name] = {"type": "number", "minimum": NEW_PRICE.low, "maximum": NEW_PRICE.high,
                              "description": f"the price new, in {CURRENCY}: the alternative to "
                                             "normalized_new_price (send exactly one of the two)"}
    return fields


def _option_schemas(levels: list[float], default: float) -> dict[str, Any]:
    return {"explain": {"type": "boolean", "description": "add each field's contribution to the price"},
            "level": {"enum": levels, "default": default, "description": "the price range's level"}}


def _answer_schema() -> dict[str, Any]:
    span = {"type": "object", "required": ["level", "low", "high"], "properties": {
        "level": {"type": "number"}, "low": {"type": "number"}, "high": {"type": "number"}}}
    warning = {"type": "object", "required": ["field", "code", "message"], "properties": {
        "field": {"type": "string"}, "code": {"enum": list(CODES)}, "message": {"type": "string"}}}
    numbers = {"used_price": "number", "normalized_used_price": "number", "new_price": "number",
               "normalized_new_price": "number", "retained_fraction": "number"}
    answer = {name: {"type": kind, "description": OUTPUT[name]} for name, kind in numbers.items()}
    answer |= {"used_price_range": span | {"description": OUTPUT["used_price_range"]},
               "normalized_used_price_range": span | {"description": OUTPUT["normalized_used_price_range"]},
               "warnings": {"type": "array", "items": warning, "description": OUTPUT["warnings"]}}
    return answer


def _v2_input_schemas() -> list[dict[str, Any]]:
    """One tensor schema per column: its name, the datatypes it takes, its elements (null: missing)."""
    tensors = []
    for name, types in v2.ACCEPTS.items():
        element = ["string"] if types == ("BYTES",) else ["boolean", "string"] if "BOOL" in types else ["number"]
        tensors.append({
            "type": "object", "additionalProperties": False, "required": ["name", "shape", "datatype", "data"],
            "properties": {
                "name": {"const": name}, "datatype": {"enum": list(types)},
                "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1, "maxItems": 2},
                "parameters": {"type": "object", "properties": {"content_type": {"const": "str"}}},
                "data": {"type": "array", "items": {"type": ["array", *element, "null"]}},
            },
        })
    return tensors


def _refusals(op: Operation) -> dict[str, Any]:
    """The op's refusals by status, each described by its classes (401 and 429 on every non-probe)."""
    kinds = op.refuses + (() if op.probe else (Unauthorized, Overloaded))
    by_status: dict[int, list[str]] = {}
    for kind in sorted(set(kinds), key=REFUSALS.index):
        summaries = by_status.setdefault(kind.status_for(op.protocol), [])
        if kind.summary not in summaries:
            summaries.append(kind.summary)
    schema = _ref("ProtocolError" if op.protocol else "Error")
    out = {str(s): {"description": "; ".join(what), "content": {JSON: {"schema": schema}}}
           for s, what in sorted(by_status.items())}
    if op.unready:
        out["503"] = {"description": "draining: not ready", "content": {JSON: {"schema": schema}}}
    return dict(sorted(out.items()))


def _content(schema: dict[str, Any], **more: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}, **more}


def _responses() -> dict[str, dict[str, Any]]:
    """Each operation's 200 answer, by the name operations.py gives it."""
    prediction = _content({"oneOf": [_ref("Answer"), _ref("BatchAnswer")]}, **{CSV: {"schema": {
        "type": "string", "description": "the rows sent, each followed by " + ", ".join(ANSWER_COLUMNS)}}})
    named = {op.response for op in OPERATIONS} - {"Prediction", "OpenAPI", "MetadataOrPage"}
    return {"Prediction": prediction, "OpenAPI": _content({"type": "object"}),
            "MetadataOrPage": _content(_ref("Metadata"), **{HTML: {"schema": {"type": "string"}}}),
            **{name: _content(_ref(name)) for name in named}}


def _requests(options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    native = _content({"oneOf": [_ref("RecordWithOptions"), _ref("Batch")]}, **{CSV: {"schema": {
        "type": "string", "description": "a header of column names, then one device per line; separator, decimal "
                                          "mark, BOM and line endings are the file's own (docs/api.md, CSV files)"}}})
    native[JSON]["example"] = EXAMPLE
    v1 = _content(_ref("V1Request"))
    v1[JSON]["example"] = {"instances": [EXAMPLE]}
    infer = _content(_ref("V2InferenceRequest"))
    infer[JSON]["example"] = {"id": "example", "inputs": v2.tensors([EXAMPLE])}
    return {"Native": native, "V1Request": v1, "V2InferenceRequest": infer}


CSV_PARAMETERS = [
    {"name": "invalid_rows", "in": "query", "required": False, "schema": {"enum": list(INVALID_ROWS), "default": "refuse"},
     "description": "text/csv only. refuse: a bad row refuses the whole file (422 naming each bad line and id); "
                    f"mark: every good row is priced and each bad row's problem is written in a {PROBLEM_COLUMN} "
                    "column (field: reason)"},
    {"name": "id_column", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "text/csv only: the column holding each row's own id, named beside its line in every problem "
                    "(default: a column called id or sku, any case)"},
]


def _paths(options: dict[str, Any]) -> dict[str, Any]:
    """Every operation of fn/api/operations.py, under its path (the model's name filled in)."""
    responses, requests = _responses(), _requests(options)
    version = [{"name": "model_version", "in": "path", "required": True, "schema": {"type": "string"}}]
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        item = paths.setdefault(op.path.replace("{model_name}", v2.NAME), {})
        operation: dict[str, Any] = {"summary": op.summary}
        if op.request == "Native":
            operation["parameters"] = [{"name": name, "in": "query", "required": False, "schema": schema}
                                       for name, schema in options.items()] + CSV_PARAMETERS
        if op.request:
            operation["requestBody"] = {"required": True, "content": requests[op.request]}
        operation["responses"] = {"200": {"description": "OK", "content": responses[op.response]}, **_refusals(op)}
        if op.response == "Prediction":  # a CSV answer counts its rows
            operation["responses"]["200"]["headers"] = {name: {
                "description": f"text/csv answers: how many rows of the request were {what}",
                "schema": {"type": "integer", "minimum": 0}} for name, what in (
                    (BLANK_ROWS_HEADER, "blank (skipped)"), (PRICED_HEADER, "priced"),
                    (REFUSED_HEADER, f"refused (invalid_rows=mark: their {PROBLEM_COLUMN} column says why)"))}
        item[op.method.lower()] = operation
        if "{model_version}" in op.path:
            item["parameters"] = version
    return paths


@functools.cache
def document(limits: Limits, levels: tuple[float, ...], default_level: float) -> dict[str, Any]:
    """The document for a service with these limits and its model's levels of price range."""
    rows = limits.max_batch_rows
    fields, options = _field_schemas(), _option_schemas(list(levels), default_level)
    answer = _answer_schema()
    explained = {**answer, "explanation": {
        "type": "object", "required": ["method", "reference_price", "reference", "contributions"],
        "description": OUTPUT["explanation"], "properties": {
            "method": {"type": "string"}, "reference_price": {"type": "number"}, "reference": {"type": "object"},
            "contributions": {"type": "object", "additionalProperties": {"type": "number"}}}}}
    detail = {"type": "object", "required": ["row", "field", "reason"], "properties": {
        "row": {"type": ["integer", "null"]}, "field": {"type": ["string", "null"]}, "reason": {"type": "string"},
        "line": {"type": "integer", "description": "the CSV line (text/csv requests)"},
        "id": {"type": "string", "description": "the row's own id (text/csv requests: its id, sku or id_column cell)"}}}
    # exactly one of the new price's two forms
    new_price = [{"required": [ALTERNATIVE[NEW_PRICE.name]]}, {"required": [NEW_PRICE.name]}]
    schemas: dict[str, Any] = {
        "Record": {"type": "object", "additionalProperties": False,
                   "required": [name for name in REQUIRED if name != ALTERNATIVE[NEW_PRICE.name]],
                   "oneOf": new_price, "properties": fields, "example": EXAMPLE},
        "RecordWithOptions": {"type": "object", "additionalProperties": False,
                              "required": [name for name in REQUIRED if name != ALTERNATIVE[NEW_PRICE.name]],
                              "oneOf": new_price, "properties": fields | options, "example": EXAMPLE},
        "Batch": {"type": "object", "additionalProperties": False, "required": ["instances"], "properties": {
            "instances": {"type": "array", "minItems": 1, "maxItems": rows, "items": _ref("Record")}, **options}},
        "Answer": {"type": "object", "required": [*answer, "model_version"],
                   "properties": {**explained, "model_version": {"type": "string"}}},
        "BatchAnswer": {"type": "object", "required": ["predictions", "model_version"], "properties": {
            "predictions": {"type": "array", "items": {"type": "object", "required": list(answer),
                                                       "properties": explained}},
            "model_version": {"type": "string"}}},
        "ModelCard": {"type": "object", "required": ["model_version", "test_scores", "price_ranges", "dataset_sha256",
                                                     "rows", "tflite_vs_keras", "trained_at", "known_limits"],
                      "properties": {"model_version": {"type": "string"},
                                     "known_limits": {"type": "array", "items": {"type": "string"}}}},
        "Metadata": {"type": "object", "required": ["model_version", "runtime", "output", "brands", "os", "input"],
                     "properties": {"model_version": {"type": "string"}, "runtime": {"type": "string"},
                                    "brands": {"type": "array", "items": {"type": "string"}},
                                    "os": {"type": "array", "items": {"type": "string"}},
                                    "output": {"type": "object"}, "input": {"type": "object"},
                                    "manifest": {"type": "object"}}},
        "Detail": detail,
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["message", "details"], "properties": {
                "message": {"type": "string"}, "details": {"type": "array", "items": _ref("Detail")}}}}},
        "ProtocolError": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string"}, "details": {"type": "array", "items": _ref("Detail")}}},
        "Health": {"type": "object", "properties": {"status": {"type": "string"}, "live": {"type": "boolean"},
                                                    "ready": {"type": "boolean"}}},
        "V1Request": {"type": "object", "additionalProperties": False, "required": ["instances"], "properties": {
            "instances": {"type": "array", "minItems": 1, "maxItems": rows, "items": _ref("Record")}}},
        "V1Response": {"type": "object", "required": ["predictions"], "properties": {
            "predictions": {"type": "array", "items": {"type": "object", "required": list(answer),
                                                       "properties": answer}}}},
        "V1Status": {"type": "object", "required": ["name", "ready", "model_version_status"], "properties": {
            "name": {"type": "string"}, "ready": {"type": "boolean"}, "model_version_status": {"type": "array"}}},
        "V2ServerMetadata": {"type": "object", "required": ["name", "version", "extensions"], "properties": {
            "name": {"type": "string"}, "version": {"type": "string"},
            "extensions": {"type": "array", "items": {"type": "string"}}}},
        "V2MetadataTensor": {"type": "object", "required": ["name", "datatype", "shape"], "properties": {
            "name": {"type": "string"}, "datatype": {"enum": list(v2.DATATYPES)},
            "shape": {"type": "array", "items": {"type": "integer"}}}},
        "V2ModelMetadata": {"type": "object", "required": ["name", "versions", "platform", "inputs", "outputs"],
                            "properties": {"name": {"const": v2.NAME}, "versions": {"type": "array", "items": {
                                "type": "string"}}, "platform": {"type": "string"},
                                "inputs": {"type": "array", "items": _ref("V2MetadataTensor")},
                                "outputs": {"type": "array", "items": _ref("V2MetadataTensor")}}},
        "V2ModelReady": {"type": "object", "required": ["name", "ready"], "properties": {
            "name": {"type": "string"}, "ready": {"type": "boolean"}}},
        "V2InferenceRequest": {
            "type": "object", "additionalProperties": False, "required": ["inputs"], "properties": {
                "id": {"type": "string"},
                "parameters": {"type": "object", "properties": {"content_type": {"const": "pd"}}},
                "inputs": {"type": "array", "minItems": 1, "items": {"oneOf": _v2_input_schemas()}},
                "outputs": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
                    "name": {"enum": list(v2.OUTPUTS)}}}}}},
        "V2InferenceResponse": {
            "type": "object", "required": ["model_name", "model_version", "id", "outputs"], "properties": {
                "model_name": {"const": v2.NAME}, "model_version": {"type": "string"}, "id": {"type": "string"},
                "parameters": {"type": "object"},
                "outputs": {"type": "array", "items": {
                    "type": "object", "required": ["name", "datatype", "shape", "data"], "properties": {
                        "name": {"enum": list(v2.OUTPUTS)}, "datatype": {"const": "FP64"},
                        "shape": {"type": "array", "items": {"type": "integer"}},
                        "data": {"type": "array", "items": {"type": "number"}}}}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "device-price", "version": __version__,
                 "description": "The used price of a phone or tablet from its specifications. Three protocols on "
                                "one port: the native API, KServe v1 / TensorFlow Serving and the Open Inference "
                                "Protocol v2. Any path not listed here answers 404 with an Error naming the "
                                "paths that are (under /v1/ and /v2: a ProtocolError), whatever the method."},
        "paths": _paths(options),
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"bearer": []}],
    }
