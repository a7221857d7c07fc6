"""The warnings an answer carries: what a person should check before trusting the price.

Each is {"field", "code", "message"}; the codes:

- unknown_value: a brand or os the model never saw, priced as "Others" (fn/features.py);
- imputed: an optional field left out, replaced by the training median (named in the message);
- outside_training_range: a value beyond every training row's (the price is an extrapolation);
- likely_inches: a screen size that reads like inches on a smartphone or a tablet (the field is in cm);
- above_new_price: the predicted used price is above the new price sent (check the new price).

None of these refuses a record: the hard limits (422) are the accepted ranges in fn/fields.py.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fn.record.columns import FEW, NAMES, NEW, Columns, dicts
from fn.record.features import ALTERNATIVE, NEW_PRICE, NUMERIC, NUMERIC_BY_NAME, amount, span, warning

OUTSIDE = "outside_training_range"  # also what the metrics count (fn/metrics.py)
CODES = ("unknown_value", "imputed", OUTSIDE, "likely_inches", "above_new_price")
INCH = 2.54
# Smartphone screens measure 3.5-8.5 in (9-22 cm); below 8.5 cm the training rows hold only
# feature phones, so such a value on an Android or iOS device is most likely in inches.
INCHES = (3.5, 8.5)
SMARTPHONE_OS = ("android", "ios")
# Tablets measure 7-13 in (18-33 cm), and 7-13 cm is a phone's size in the data, so the size alone
# cannot tell them apart; the weight can: the training phones of 7-13.5 cm weigh under 300 g
# (99% of them under 210 g) while the tablets (20 cm and up) weigh 440 g at the median. A screen
# of TABLET_INCHES "cm" with a weight of TABLET_WEIGHT g or more is most likely a tablet in inches;
# tests/test_person.py holds the rule to flag almost no training row and the tablets sent in inches.
TABLET_INCHES = (7.0, 13.5)
TABLET_WEIGHT = 300.0


def _amount(name: str, value: float) -> str:
    return amount(NUMERIC_BY_NAME[name], value)


def likely_inches(record: dict[str, Any]) -> str | None:
    """What a screen_size in inches would be on this record's device ("a smartphone", "a tablet"), else None."""
    size = record["screen_size"]
    if INCHES[0] <= size <= INCHES[1] and record["os"].lower() in SMARTPHONE_OS:
        return "a smartphone"
    weight = record.get("weight")
    if TABLET_INCHES[0] <= size <= TABLET_INCHES[1] and weight is not None and weight >= TABLET_WEIGHT:
        return "a tablet"
    return None


def record_warnings(spec: dict[str, Any], record: dict[str, Any], predicted: float) -> list[dict[str, str]]:
    """The warnings about one cleaned record (fn/features.check_record) and its predicted log price."""
    notes = []
    for f in NUMERIC:
        if record[f.name] is None and not f.required:
            median = spec["impute"][f.name]
            notes.append(warning(f.name, "imputed", f"{f.name} was not sent; the training median, "
                                 f"{_amount(f.name, median)}, was used (sending it makes the price surer)"))
    money = record.get(NEW_PRICE.name) is not None
    for name, (low, high) in (spec.get("training_range") or {}).items():
        value = record.get(name)
        if value is not None and not low <= value <= high:
            field = NUMERIC_BY_NAME[name]
            if money and name == ALTERNATIVE[NEW_PRICE.name]:  # speak of the field the client sent
                field, value, low, high = NEW_PRICE, record[NEW_PRICE.name], math.exp(low), math.exp(high)
            notes.append(warning(field.name, OUTSIDE, f"{field.name} {amount(field, value)} is outside the training "
                                 f"data ({span(field, low, high)}): the price is an extrapolation"))
    device = likely_inches(record)
    if device:
        size = record["screen_size"]
        notes.append(warning("screen_size", "likely_inches",
                             f"screen_size is in cm; {size:g} reads like inches on {device} "
                             f"({size:g} in = {size * INCH:.2f} cm: send that if so)"))
    retained = predicted - record["normalized_new_price"]
    if retained > 0:
        field = NEW_PRICE.name if record.get(NEW_PRICE.name) is not None else "normalized_new_price"
        notes.append(warning(field, "above_new_price",
                             "the predicted used price is above the new price sent; check the new price "
                             f"({field} is in {'the dataset currency' if field == NEW_PRICE.name else 'ln(price)'})"))
    return notes


def warnings(spec: dict[str, Any], columns: Columns, predicted: np.ndarray,
             notes: list[list[dict[str, str]]]) -> list[list[dict[str, str]]]:
    """record_warnings for every row of `columns`, after each row's `notes` (the encoding's): the
    rows that may warn are found on whole columns (a superset: most rows carry no warning), and
    record_warnings words each of theirs."""
    if len(columns) <= FEW:  # one record (the usual request) or a few: no arrays to build
        return [before + record_warnings(spec, record, value)
                for before, record, value in zip(notes, dicts(columns), predicted.tolist(), strict=True)]
    low, high = _quiet(spec)
    numbers = columns.numbers
    size = numbers[:, _SCREEN]
    # quiet: every number sent and within the training data, a screen that reads like no inches,
    # a price below the new price (NaN, an optional field not sent, is never within)
    maybe = ~((numbers >= low) & (numbers <= high)).all(axis=1) | ((size >= _SIZES[0]) & (size <= _SIZES[1]))
    maybe |= predicted - numbers[:, NEW] > 0
    if not maybe.any():
        return notes
    values, rows = predicted.tolist(), np.flatnonzero(maybe).tolist()
    for i, record in zip(rows, columns.records(rows), strict=True):
        notes[i] = notes[i] + record_warnings(spec, record, values[i])
    return notes


_SCREEN = NAMES.index("screen_size")
_SIZES = (min(INCHES[0], TABLET_INCHES[0]), max(INCHES[1], TABLET_INCHES[1]))  # every size likely_inches may flag
_QUIET: dict[int, tuple[dict[str, Any], np.ndarray, np.ndarray]] = {}


def _quiet(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the values that give no imputed or outside_training_range warning (a required
    field, never missing, with no training range: any), worked out once per specification."""
    cached = _QUIET.get(id(spec))
    if cached is None or cached[0] is not spec:
        ranges = spec.get("training_range") or {}
        low = [ranges[f.name][0] if f.name in ranges else -math.inf for f in NUMERIC]
        high = [ranges[f.name][1] if f.name in ranges else math.inf for f in NUMERIC]
        cached = _QUIET[id(spec)] = spec, np.array(low), np.array(high)
    return cached[1], cached[2]
