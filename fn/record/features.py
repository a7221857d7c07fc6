"""How a device record (fn/record/fields.py) is checked: types, presence and ranges, every
problem found at once; fn/record/encoding.py then makes the network's input of it.

The one place these rules live: training (convert/data.py) checks the dataset's rows with them
and the service checks every request with them, so the two cannot drift apart.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fn.record.fields import (  # noqa: F401 (the record's declarations, re-exported)
    ALTERNATIVE,
    CATEGORICAL,
    CURRENCY,
    EXAMPLE,
    FIELDS,
    FLAGS,
    KNOWN,
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
from fn.record.problems import ValidationError, counted, detail, json_type, quote  # noqa: F401 (ValidationError: re-exported)


def warning(field: str, code: str, message: str) -> dict[str, str]:
    """A note on an answer a person can act on (fn/advice.py lists the codes)."""
    return {"field": field, "code": code, "message": message}


# A number as a JSON body or a CSV cell writes it: no thousands separator, a point for decimals.
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_CURRENCY = re.compile(r"[$€£¥₹]|\b(USD|EUR|GBP|INR)\b", re.IGNORECASE)
# Digits grouped by a comma, point, apostrophe or space ("3,020", "1.299,00"), or a decimal comma ("15,34").
_GROUPED = re.compile(r"[+-]?\d{1,3}([,.' ]\d{3})+([.,]\d+)?|[+-]?\d+,\d+")


def not_a_number(value: str) -> str:
    """Why a text is no number, in the client's own text (quoted, clipped): what a JSON string or a
    CSV cell that is not a plain number is refused with. Money and grouped digits are refused, not
    guessed at: "3,020" is 3020 in one country and 3.02 in another, and the currency is the dataset's."""
    text = value.strip()
    if _CURRENCY.search(text) and re.search(r"\d", text):
        return f"must be a plain number, without a currency symbol (111.62, not '$111.62'), got {quote(value)}"
    if _GROUPED.fullmatch(text):
        return ("must be a plain number, without thousands separators or a decimal comma (3020 or 15.34), "
                f"got {quote(value)}")
    if PLAIN_NUMBER.fullmatch(text):
        return f"must be a number, not a string (JSON: 64, not \"64\"), got {quote(value)}"
    return f"must be a number, got {quote(value)}"


def _check_number(spec: Numeric, value: Any, row: int | None) -> tuple[float | None, dict | None]:
    # bool is an int in Python; "true" is no screen size.
    if isinstance(value, str):
        return None, detail(spec.name, not_a_number(value), row)
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
        return None, _out_of_range(spec, row, value)
    return value, None


def _unit(spec: Numeric) -> str:
    return {"currency": " in the dataset's currency", "ln(price)": " (ln of the price)", "": ""}.get(
        spec.unit, f" {spec.unit}")


def _number(spec: Numeric, value: float) -> str:
    return f"{value:,.2f}".removesuffix(".00") if spec.unit == "currency" else f"{value:g}"


def amount(spec: Numeric, value: float) -> str:
    """A value of a field with its unit, as messages write it: "128 GB", "3,269,017 in the
    dataset's currency", "15 (ln of the price)"."""
    return _number(spec, value) + _unit(spec)


def span(spec: Numeric, low: float, high: float, joint: str = "to") -> str:
    """A range of a field with its unit once: "500 to 9720 mAh"."""
    return f"{_number(spec, low)} {joint} {amount(spec, high)}"


def _out_of_range(spec: Numeric, row: int | None, value: float | None = None) -> dict[str, Any]:
    reason = f"must be between {span(spec, spec.low, spec.high, 'and')}"
    if spec.name in _SENT_INSTEAD and value is not None and NEW_PRICE.low <= value <= NEW_PRICE.high:
        # a price where its log belongs: the money field takes it as it is
        reason += f"; {value:g} reads like a price: send it as {_SENT_INSTEAD[spec.name]}"
    return detail(spec.name, reason, row)


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
    unknown = sorted(record.keys() - KNOWN) if not record.keys() <= KNOWN else []
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
        elif isinstance(value, str) and (word := YES_NO.get(value.strip().lower())) is not None:
            clean[name] = word
        else:
            problems.append(detail(name, 'must be "yes", "no", true or false', row))
    problems.extend(_check_new_price(record, clean, row))
    for spec, name, low, high, whole, positive in _RULES:
        value = record.get(name)
        kind = type(value)
        # A number that passes every check of _check_number, at once (every field of the usual
        # record): within the range it is finite and fits a float, and an int is whole. bool is
        # not int here.
        if (kind is float or kind is int) and low <= value <= high and (kind is int or not whole or value == int(value)) \
                and (value > 0 or not positive) and name not in clean:
            clean[name] = float(value)
            continue
        if name in clean:  # given as its alternative
            continue
        if value is None:
            clean[name] = None
            if spec.required:
                alternative = _SENT_INSTEAD.get(name)
                reason = "is required" + (f" (or send {alternative})" if alternative else "")
                problems.append(detail(name, reason, row))
            continue
        clean[name], problem = _check_number(spec, value, row)
        if problem:
            problems.append(problem)
    return clean, problems


# Each numeric field's rule, unpacked once: check_record reads them for every field of every record.
_RULES = tuple((f, f.name, f.low, f.high, f.integer, f.positive) for f in NUMERIC)


def check_records(records: list[Any], batch: bool = True) -> list[dict[str, Any]]:
    """check_record over records; raises ValidationError listing every bad row.

    Rows are numbered from 1 in a batch (problems.detail); a single request's problems have row None.
    """
    cleaned, problems = [], []
    for i, record in enumerate(records, start=1):
        clean, found = check_record(record, i if batch else None)
        cleaned.append(clean)
        problems.extend(found)
    if problems:
        raise refuse(problems, len(records), batch)
    return cleaned


def refuse(problems: list[dict], records: int, batch: bool) -> ValidationError:
    """The refusal of `records` records of which `problems` (check_record's) were found."""
    rows = {p["row"] for p in problems}
    what = (f"{len(rows)} of {counted(records, 'row')} {'is' if len(rows) == 1 else 'are'} invalid" if batch
            else "the record is invalid")
    return ValidationError(what, problems)


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
