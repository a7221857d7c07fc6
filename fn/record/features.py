"""How a device record (fn/fields.py) is checked, and how it becomes the network's input.

The one place these rules live: training (convert/train.py) encodes the dataset with
these functions and the served model encodes requests with them, so the two cannot
drift apart. numpy only: this module ships in the function image.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from fn.record.fields import (  # noqa: F401 (the record's declarations, re-exported)
    ALTERNATIVE,
    CATEGORICAL,
    CURRENCY,
    EXAMPLE,
    FIELDS,
    FLAGS,
    MAX_TEXT,
    NEW_PRICE,
    NUMERIC,
    NUMERIC_BY_NAME,
    OPTIONS,
    OTHERS,
    REQUIRED,
    TARGET,
    YES_NO,
    Numeric,
)
from fn.record.problems import ValidationError, detail, json_type, quote  # noqa: F401 (ValidationError: re-exported)


def warning(field: str, code: str, message: str) -> dict[str, str]:
    """A note on an answer a person can act on (fn/advice.py lists the codes)."""
    return {"field": field, "code": code, "message": message}


def _check_number(spec: Numeric, value: Any, row: int | None) -> tuple[float | None, dict | None]:
    # bool is an int in Python; "true" is no screen size.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, detail(spec.name, f"must be a number, got {json_type(value)}", row)
    try:
        value = float(value)
    except OverflowError:  # an integer of 310 digits or more
        return None, _out_of_range(spec, row)
    if not math.isfinite(value):  # JSON has no NaN or Infinity: this was a number too large for a float
        return None, _out_of_range(spec, row)
    if spec.integer and value != int(value):
        return None, detail(spec.name, "must be a whole number", row)
    if spec.positive and value <= 0:
        return None, detail(spec.name, "must be greater than 0", row)
    if not spec.low <= value <= spec.high:
        return None, _out_of_range(spec, row)
    return value, None


def _out_of_range(spec: Numeric, row: int | None) -> dict[str, Any]:
    return detail(spec.name, f"must be between {spec.low:g} and {spec.high:g}", row)


def unknown_field_reason(name: str) -> str:
    if name == TARGET:
        return "is the value to predict; do not send it"
    if name in OPTIONS:
        return "is an option of the request: in a batch it goes beside \"instances\""
    return "is not a known field"


_SENT_INSTEAD = {field: alternative for alternative, field in ALTERNATIVE.items()}


def _check_new_price(record: dict[str, Any], clean: dict[str, Any], row: int | None) -> list[dict]:
    """new_price (money) or normalized_new_price (its log): exactly one; both end up in `clean`."""
    alternative = ALTERNATIVE[NEW_PRICE.name]
    if record.get(NEW_PRICE.name) is None:
        return []
    clean[alternative] = None  # decided here: the loop over NUMERIC skips it
    if record.get(alternative) is not None:
        return [detail(NEW_PRICE.name, f"send new_price or {alternative}, not both", row)]
    value, problem = _check_number(NEW_PRICE, record[NEW_PRICE.name], row)
    if problem:
        return [problem]
    clean[NEW_PRICE.name], clean[alternative] = value, math.log(value)
    return []


def check_record(record: Any, row: int | None = None) -> tuple[dict[str, Any], list[dict]]:
    """Type, presence and range checks that need no trained model.

    Returns the cleaned record (numbers as floats, flags as 0/1, missing optional
    numbers as None) and the list of problems; the record is usable only if the list
    is empty.
    """
    if not isinstance(record, dict):
        return {}, [detail(None, f"must be a JSON object, got {json_type(record)}", row)]
    problems = []
    unknown = sorted(set(record) - set(FIELDS) - {NEW_PRICE.name})
    for name in unknown:
        problems.append(detail(name, unknown_field_reason(name), row))
    clean: dict[str, Any] = {}
    for name in CATEGORICAL:
        value = record.get(name)
        if value is None:
            problems.append(detail(name, "is required", row))
        elif not isinstance(value, str) or not value.strip():
            problems.append(detail(name, "must be a non-empty string", row))
        elif len(value) > MAX_TEXT:
            problems.append(detail(name, f"must be at most {MAX_TEXT} characters, got {len(value)}", row))
        else:
            clean[name] = value.strip()
    for name in FLAGS:
        value = record.get(name)
        if value is None:
            problems.append(detail(name, "is required", row))
        elif isinstance(value, bool):
            clean[name] = float(value)
        elif isinstance(value, str) and value.strip().lower() in YES_NO:
            clean[name] = YES_NO[value.strip().lower()]
        else:
            problems.append(detail(name, 'must be "yes", "no", true or false', row))
    problems.extend(_check_new_price(record, clean, row))
    for spec in NUMERIC:
        value = record.get(spec.name)
        if spec.name in clean:  # given as its alternative
            continue
        if value is None:
            clean[spec.name] = None
            if spec.required:
                alternative = _SENT_INSTEAD.get(spec.name)
                reason = "is required" + (f" (or send {alternative})" if alternative else "")
                problems.append(detail(spec.name, reason, row))
            continue
        clean[spec.name], problem = _check_number(spec, value, row)
        if problem:
            problems.append(problem)
    return clean, problems


def check_records(records: list[Any], batch: bool = True) -> list[dict[str, Any]]:
    """check_record over records; raises ValidationError listing every bad row.

    Rows are numbered from 0 in a batch; a single request's problems have row None.
    """
    cleaned, problems = [], []
    for i, record in enumerate(records):
        clean, found = check_record(record, i if batch else None)
        cleaned.append(clean)
        problems.extend(found)
    if problems:
        rows = {p["row"] for p in problems}
        what = f"{len(rows)} of {len(records)} rows are invalid" if batch else "the record is invalid"
        raise ValidationError(what, problems)
    return cleaned


BRAND_ENCODINGS = ("one_hot", "dropped")  # how device_brand enters the network (chosen in convert/train.py)


def fit_spec(records: list[dict[str, Any]], brand_encoding: str = "one_hot") -> dict[str, Any]:
    """The encoding's parameters, learnt from cleaned training records only."""
    if brand_encoding not in BRAND_ENCODINGS:
        raise ValueError(f"brand_encoding must be one of {BRAND_ENCODINGS}, got {brand_encoding!r}")
    brands = sorted({r["device_brand"] for r in records} | {OTHERS})
    systems = sorted({r["os"] for r in records} | {OTHERS})
    impute, training_range = {}, {}
    for spec in NUMERIC:
        present = [r[spec.name] for r in records if r[spec.name] is not None]
        impute[spec.name] = float(np.median(present))
        training_range[spec.name] = [float(min(present)), float(max(present))]
    # The reference device an explanation starts from: the training rows' medians and most
    # common values (fn/explain.py).
    reference = {name: Counter(r[name] for r in records).most_common(1)[0][0] for name in CATEGORICAL + FLAGS}
    spec = {
        "format": 1,
        "fields": list(FIELDS),
        "required": list(REQUIRED),
        "brands": brands,
        "brand_encoding": brand_encoding,
        "os": systems,
        "yes_no": YES_NO,
        "impute": impute,
        "log1p": [f.name for f in NUMERIC if f.log],
        "ranges": {f.name: [f.low, f.high] for f in NUMERIC},
        # What the model learnt from (the accepted ranges above are far wider).
        "training_range": training_range,
        "reference": reference | impute,
        "columns": [],
        "mean": [],
        "std": [],
    }
    encoder = Encoder(spec)
    raw = encoder.raw(records)[0]
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    # One-hot and flag columns enter as 0/1: standardising them would turn a rare brand's 1
    # into a value near 20 and give it the largest weight of any input. Numbers are
    # standardised; a constant keeps its scale (dividing by ~0 would blow up).
    numbers = slice(raw.shape[1] - len(NUMERIC), None)
    mean[: numbers.start], std[: numbers.start] = 0.0, 1.0
    std[std < 1e-6] = 1.0
    spec["columns"] = _column_names(spec)
    spec["mean"] = [float(x) for x in mean]
    spec["std"] = [float(x) for x in std]
    return spec


def _column_names(spec: dict[str, Any]) -> list[str]:
    return (
        [f"brand={b}" for b in spec["brands"] if spec.get("brand_encoding", "one_hot") == "one_hot"]
        + [f"os={o}" for o in spec["os"]]
        + list(FLAGS)
        + [f"log1p({f.name})" if f.log else f.name for f in NUMERIC]
    )


class Encoder:
    """One specification's encoding, with its lookups prepared once: the serving hot path
    encodes every request through a single Encoder."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.brands = {v.lower(): i for i, v in enumerate(spec["brands"])}
        self.systems = {v.lower(): i for i, v in enumerate(spec["os"])}
        # A dropped brand has no columns: it cannot move the price, so no warning speaks of it.
        self.brand_width = len(self.brands) if spec.get("brand_encoding", "one_hot") == "one_hot" else 0
        self.impute = np.array([spec["impute"][f.name] for f in NUMERIC])
        self.logged = np.array([f.name in spec["log1p"] for f in NUMERIC])
        self.width = self.brand_width + len(self.systems) + len(FLAGS) + len(NUMERIC)
        self.mean = np.asarray(spec["mean"]) if spec.get("mean") else None
        self.std = np.asarray(spec["std"]) if spec.get("std") else None

    def raw(self, records: list[dict[str, Any]]) -> tuple[np.ndarray, list[list[dict[str, str]]]]:
        """Cleaned records -> unscaled columns (one-hots, flags, numbers), plus warnings per row."""
        n = len(records)
        os_at = self.brand_width
        others_brand, others_os = self.brands[OTHERS.lower()], self.systems[OTHERS.lower()]
        one_hot = np.zeros((n, self.brand_width + len(self.systems)))
        warnings: list[list[dict[str, str]]] = []
        for i, r in enumerate(records):
            notes = []
            if self.brand_width:
                j = self.brands.get(r["device_brand"].lower())
                if j is None:
                    j = others_brand
                    notes.append(warning("device_brand", "unknown_value",
                                         f"unknown device_brand {quote(r['device_brand'])} was treated as {OTHERS!r}"))
                one_hot[i, j] = 1.0
            k = self.systems.get(r["os"].lower())
            if k is None:
                k = others_os
                notes.append(warning("os", "unknown_value", f"unknown os {quote(r['os'])} was treated as {OTHERS!r}"))
            one_hot[i, os_at + k] = 1.0
            warnings.append(notes)
        rest = np.array(
            [[r[f] for f in FLAGS] + [r[f.name] if r[f.name] is not None else np.nan for f in NUMERIC]
             for r in records],
            dtype=np.float64,
        ).reshape(n, len(FLAGS) + len(NUMERIC))
        numbers = rest[:, len(FLAGS):]
        missing = np.isnan(numbers)
        if missing.any():
            numbers[missing] = np.broadcast_to(self.impute, numbers.shape)[missing]
        numbers[:, self.logged] = np.log1p(numbers[:, self.logged])
        return np.hstack([one_hot, rest]), warnings

    def encode(self, records: list[dict[str, Any]]) -> tuple[np.ndarray, list[list[dict[str, str]]]]:
        """Cleaned records -> standardised float32 model input, plus warnings per row."""
        if self.mean is None or self.std is None:
            raise ValueError("the specification has no scaling statistics yet (fit_spec makes them)")
        raw, warnings = self.raw(records)
        return ((raw - self.mean) / self.std).astype(np.float32), warnings


def encode(spec: dict[str, Any], records: list[dict[str, Any]]) -> tuple[np.ndarray, list[list[dict[str, str]]]]:
    """Encoder(spec).encode(records), for one-off use (training, tests)."""
    return Encoder(spec).encode(records)


def schema() -> dict[str, Any]:
    """The input schema as clients see it (served by GET)."""
    fields: dict[str, Any] = {
        "device_brand": {"type": "string", "required": True, "max_length": MAX_TEXT,
                         "note": f"unknown brands count as {OTHERS!r}"},
        "os": {"type": "string", "required": True, "max_length": MAX_TEXT, "note": f"unknown systems count as {OTHERS!r}"},
        "4g": {"type": '"yes" | "no" | boolean', "required": True},
        "5g": {"type": '"yes" | "no" | boolean', "required": True},
    }
    for f in NUMERIC:
        fields[f.name] = {
            "type": "integer" if f.integer else "number",
            "required": f.required,
            "min": f.low,
            "max": f.high,
            **({"unit": f.unit} if f.unit else {}),
            **({} if f.required else {"note": "imputed with the training median when missing"}),
        }
    fields["normalized_new_price"]["note"] = "or send new_price instead: exactly one of the two"
    fields[NEW_PRICE.name] = {"type": "number", "required": False, "min": NEW_PRICE.low, "max": NEW_PRICE.high,
                              "unit": CURRENCY, "note": "the alternative to normalized_new_price"}
    return {"fields": fields, "example": EXAMPLE, "batch": '{"instances": [record, ...]}',
            "options": {"explain": "true: add each field's contribution to the price",
                        "level": "the price range's level, one of the metadata's levels (default: its default_level)"}}
