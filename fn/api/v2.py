"""The Open Inference Protocol (v2, REST) for tabular data, as KServe and MLServer speak it:
an inference request's tensors become the native API's records, and its answers become tensors.

The tabular convention (MLServer's pandas codec, KServe's v2 examples): one input tensor per
column, named as the dataset's columns, shape [N] or [N, 1], row-major data flat or nested.
Only the tensors' own rules live here (names, shapes, datatypes); every value is then checked
by the native rules (fn/record/features.py), so both APIs refuse the same records with the same words.
Spec: https://github.com/kserve/open-inference-protocol (REST, "Inference" and "Metadata").
"""

from __future__ import annotations

import math
from typing import Any

from fn.api.errors import BadRequest, TooLarge
from fn.record import features
from fn.record.problems import detail, json_type, quote

NAME = "device-price"
PLATFORM = "tflite"
# The answers, as output tensors (FP64, shape [N, 1]), in this order unless `outputs` selects: each
# picked from a native answer (the range's ends at parameters.level, else the model's default level).
PICK = {
    "used_price": lambda a: a["used_price"],
    "used_price_low": lambda a: a["used_price_range"]["low"],
    "used_price_high": lambda a: a["used_price_range"]["high"],
    "normalized_used_price": lambda a: a["normalized_used_price"],
    "retained_fraction": lambda a: a["retained_fraction"],
}
OUTPUTS = tuple(PICK)

# Integer datatypes and their value ranges; FP* take any finite number.
INTEGER_RANGE = {
    "INT8": (-(2**7), 2**7 - 1), "INT16": (-(2**15), 2**15 - 1), "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1), "UINT8": (0, 2**8 - 1), "UINT16": (0, 2**16 - 1),
    "UINT32": (0, 2**32 - 1), "UINT64": (0, 2**64 - 1),
}
NUMBERS = ("FP16", "FP32", "FP64") + tuple(INTEGER_RANGE)
DATATYPES = ("BOOL", "BYTES") + NUMBERS
# What each column takes: text as BYTES; 4g/5g as BOOL or BYTES "yes"/"no"; numbers as any number type.
ACCEPTS = {
    **{name: ("BYTES",) for name in features.CATEGORICAL},
    **{name: ("BOOL", "BYTES") for name in features.FLAGS},
    **{f.name: NUMBERS for f in features.NUMERIC},
    features.NEW_PRICE.name: NUMBERS,  # the new price in money, instead of normalized_new_price (as in v1)
}
REQUEST_KEYS = {"id", "parameters", "inputs", "outputs"}
TENSOR_KEYS = {"name", "shape", "datatype", "parameters", "data"}


def _tensor_datatype(name: str) -> str:
    """The datatype the metadata declares for a column (the one a client should send)."""
    if name in features.CATEGORICAL:
        return "BYTES"
    if name in features.FLAGS:
        return "BOOL"
    spec = features.NUMERIC_BY_NAME.get(name)
    return "INT64" if spec is not None and spec.integer else "FP64"


def metadata(version: str) -> dict[str, Any]:
    """GET /v2/models/device-price: inputs and outputs from the feature specification."""
    inputs = []
    for name in features.FIELDS:
        tensor: dict[str, Any] = {"name": name, "datatype": _tensor_datatype(name), "shape": [-1, 1]}
        if tensor["datatype"] == "BYTES":
            tensor["parameters"] = {"content_type": "str"}
        inputs.append(tensor)
    return {
        "name": NAME,
        "versions": [version],
        "platform": PLATFORM,
        "inputs": inputs,
        "outputs": [{"name": name, "datatype": "FP64", "shape": [-1, 1]} for name in OUTPUTS],
        "parameters": {"content_type": "pd"},
    }


def tensors(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Native records -> an inference request's inputs, with the metadata's datatypes (the client's
    side of the codec: the examples, tests and benchmarks send these; "yes"/"no" go as BOOL)."""
    names = [name for name in (*features.FIELDS, features.NEW_PRICE.name) if any(name in r for r in records)]
    inputs = []
    for name in names:
        data = [r.get(name) for r in records]
        if name in features.FLAGS:
            data = [bool(features.YES_NO[v.strip().lower()]) if isinstance(v, str) and v.strip().lower()
                    in features.YES_NO else v for v in data]
        inputs.append({"name": name, "shape": [len(records), 1], "datatype": _tensor_datatype(name), "data": data})
    return inputs


def _bad(message: str, field: str | None = None, reason: str | None = None, row: int | None = None) -> BadRequest:
    return BadRequest(message, [detail(field, reason or message, row)])


def _check_parameters(where: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise _bad(f"{where}parameters must be an object, got {json_type(value)}", "parameters")
    if "explain" in value:
        raise _bad(f"{where}parameters.explain is not offered in v2: its outputs have no explanation (the native API "
                   "has one)", "explain", "is not offered in v2")
    content_type = value.get("content_type")
    if content_type is not None and content_type not in allowed:
        shown = quote(content_type) if isinstance(content_type, str) else json_type(content_type)
        raise _bad(f"{where}parameters.content_type {shown} is not supported here; "
                   f"use {' or '.join(repr(a) for a in allowed)}", "parameters")


def _flatten(data: list[Any]) -> list[Any]:
    """Row-major data, flat or nested (the spec allows both), as one flat list."""
    if list not in map(type, data):
        return data
    flat: list[Any] = []
    for x in data:
        flat.extend(_flatten(x) if isinstance(x, list) else [x])
    return flat


# What each datatype's elements may be (bool is an int in Python: told apart by exact type;
# null is a missing optional value).
_ELEMENT_TYPES = {"BYTES": {str, type(None)}, "BOOL": {bool, type(None)},
                  **{t: {int, float, type(None)} for t in NUMBERS}}


def _column(tensor: Any, at: int) -> tuple[str, int, list[Any]]:
    """One input tensor -> (column name, rows, values); tensor-level rules only. The checks of a
    well-formed tensor come first and cost little: every request pays for them, per column."""
    if type(tensor) is not dict:
        raise _bad(f"inputs[{at}] must be an object, got {json_type(tensor)}", "inputs")
    name = tensor.get("name")
    accepts = ACCEPTS.get(name) if type(name) is str else None
    if accepts is None:
        if type(name) is not str or not name:
            raise _bad(f"inputs[{at}] needs a \"name\" (one of the dataset's columns)", "inputs")
        reason = features.unknown_field_reason(name)
        raise BadRequest(f"input {quote(name)} {reason}; the inputs are {', '.join(features.FIELDS)}",
                         [detail(name, reason)])
    if not TENSOR_KEYS.issuperset(tensor):
        extra = sorted(set(tensor) - TENSOR_KEYS)
        raise _bad(f"input {quote(name)} has unknown key {quote(extra[0])}", name,
                   "has an unknown key")
    if "parameters" in tensor:
        _check_parameters(f"input {quote(name)}: ", tensor["parameters"], ("str",))
    datatype = tensor.get("datatype")
    if datatype not in accepts:
        if datatype not in DATATYPES:
            raise _bad(f"input {quote(name)} needs a datatype, one of {', '.join(DATATYPES)}", name,
                       "unknown datatype")
        raise _bad(f"input {quote(name)} has datatype {datatype}; it takes {', '.join(accepts)}", name,
                   f"datatype must be {' or '.join(accepts)}" if len(accepts) < 3 else "must be a number type")
    shape = tensor.get("shape")
    if not (type(shape) is list and 1 <= len(shape) <= 2 and type(shape[0]) is int and shape[0] >= 0
            and (len(shape) == 1 or (type(shape[1]) is int and shape[1] == 1))):
        raise _bad(f"input {quote(name)} needs a shape [N] or [N, 1]", name, "shape must be [N] or [N, 1]")
    data = tensor.get("data")
    if type(data) is not list:
        raise _bad(f"input {quote(name)} needs \"data\", a list", name, "data must be a list")
    values = _flatten(data)
    if len(values) != shape[0]:
        raise _bad(f"input {quote(name)} has shape {shape} but {len(values)} values", name,
                   "data does not match shape")
    _check_values(name, datatype, values)
    return name, shape[0], values


def _check_values(name: str, datatype: str, values: list[Any]) -> None:
    """Each element is of the tensor's datatype (null: a missing optional value)."""
    allowed = _ELEMENT_TYPES[datatype]
    if not allowed.issuperset(map(type, values)):
        row, v = next((i, v) for i, v in enumerate(values, start=1) if type(v) not in allowed)
        raise _bad(f"input {quote(name)} is {datatype} but row {row} is {json_type(v)}",
                   name, f"must be {datatype}", row)
    bounds = INTEGER_RANGE.get(datatype)
    if bounds is None:
        return
    for row, v in enumerate(values, start=1):
        if v is not None and not (math.isfinite(v) and v == int(v) and bounds[0] <= v <= bounds[1]):
            raise _bad(f"input {quote(name)} is {datatype} but row {row} is not a {datatype} value",
                       name, f"must be a whole number in {datatype}'s range", row)


def records(body: Any, max_rows: int) -> tuple[list[dict[str, Any]], str | None, tuple[str, ...], dict[str, Any]]:
    """An inference request (parsed JSON) -> (native records, request id, outputs asked for, the
    native options it asks for: `parameters.level`, read by the native rule, fn/api/body.py)."""
    if not isinstance(body, dict):
        raise _bad(f"the body must be an inference request (a JSON object), got {json_type(body)}")
    if not REQUEST_KEYS.issuperset(body):
        extra = sorted(set(body) - REQUEST_KEYS)
        raise _bad(f"an inference request has no key {quote(extra[0])}; "
                   "its keys are id, parameters, inputs, outputs", extra[0], "is not allowed")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise _bad(f"\"id\" must be a string, got {json_type(request_id)}", "id")
    _check_parameters("", body.get("parameters"), ("pd",))
    tensors = body.get("inputs")
    if not isinstance(tensors, list) or not tensors:
        raise _bad("an inference request needs \"inputs\": a non-empty list of tensors, one per column", "inputs")
    columns: dict[str, list[Any]] = {}
    rows = None
    for at, tensor in enumerate(tensors):
        name, n, values = _column(tensor, at)
        if name in columns:
            raise _bad(f"input {quote(name)} appears twice", name, "appears twice")
        if rows is not None and n != rows:
            raise _bad(f"input {quote(name)} has {n} rows; the inputs before it have {rows}", name,
                       "every input needs the same number of rows")
        if n > max_rows:
            raise TooLarge(f"the inputs have {n} rows; the limit is {max_rows}",
                           [detail("inputs", f"at most {max_rows} rows")])
        columns[name], rows = values, n
    if not rows:
        raise _bad("the inputs have no rows", "inputs", "shape [0]")
    options = {k: v for k, v in (body.get("parameters") or {}).items() if k in features.OPTIONS}
    return ([{name: values[i] for name, values in columns.items() if values[i] is not None} for i in range(rows)],
            request_id, _outputs(body.get("outputs")), options)


def _outputs(asked: Any) -> tuple[str, ...]:
    if asked is None:
        return OUTPUTS
    if not isinstance(asked, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in asked):
        raise _bad("\"outputs\" must be a list of {\"name\": ...}", "outputs")
    names = tuple(o["name"] for o in asked)
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise _bad(f"no output {quote(unknown[0])}; the outputs are {', '.join(OUTPUTS)}", "outputs",
                   "unknown output")
    return names or OUTPUTS


def response(answers: list[dict[str, Any]], version: str, request_id: str, outputs: tuple[str, ...]) -> dict[str, Any]:
    """Native answers -> an inference response: one FP64 [N, 1] tensor per output asked for."""
    n = len(answers)
    result: dict[str, Any] = {
        "model_name": NAME,
        "model_version": version,
        "id": request_id,
        "parameters": {"content_type": "pd"},
        "outputs": [{"name": name, "datatype": "FP64", "shape": [n, 1], "data": [PICK[name](a) for a in answers]}
                    for name in outputs],
    }
    warnings = [a["warnings"] for a in answers]
    if any(warnings):  # per row, as the native answers have them
        result["parameters"]["warnings"] = warnings
    return result
