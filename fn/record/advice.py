"""The warnings an answer carries: what a person should check before trusting the price.

Each is {"field", "code", "message"}; the codes:

- unknown_value: a brand or os the model never saw, priced as "Others" (fn/features.py);
- imputed: an optional field left out, replaced by the training median (named in the message);
- outside_training_range: a value beyond every training row's (the price is an extrapolation);
- likely_inches: a screen size that reads like inches on a smartphone (the field is in cm);
- above_new_price: the predicted used price is above the new price sent (check the new price).

None of these refuses a record: the hard limits (422) are the accepted ranges in fn/fields.py.
"""

from __future__ import annotations

from typing import Any

from fn.record.features import NEW_PRICE, NUMERIC, NUMERIC_BY_NAME, warning

OUTSIDE = "outside_training_range"  # also what the metrics count (fn/metrics.py)
CODES = ("unknown_value", "imputed", OUTSIDE, "likely_inches", "above_new_price")
INCH = 2.54
# Smartphone screens measure 3.5-8.5 in (9-22 cm); below 8.5 cm the training rows hold only
# feature phones, so such a value on an Android or iOS device is most likely in inches.
INCHES = (3.5, 8.5)
SMARTPHONE_OS = ("android", "ios")


def _amount(name: str, value: float) -> str:
    unit = NUMERIC_BY_NAME[name].unit
    return f"{value:g}" + (f" {unit}" if unit and unit != "ln(price)" else "")


def record_warnings(spec: dict[str, Any], record: dict[str, Any], predicted: float) -> list[dict[str, str]]:
    """The warnings about one cleaned record (fn/features.check_record) and its predicted log price."""
    notes = []
    for f in NUMERIC:
        if record[f.name] is None and not f.required:
            median = spec["impute"][f.name]
            notes.append(warning(f.name, "imputed", f"{f.name} was not sent; the training median, "
                                 f"{_amount(f.name, median)}, was used (sending it makes the price surer)"))
    for name, (low, high) in (spec.get("training_range") or {}).items():
        value = record.get(name)
        if value is not None and not low <= value <= high:
            notes.append(warning(name, OUTSIDE,
                                 f"{name} {_amount(name, value)} is outside the training data "
                                 f"({_amount(name, low)} to {_amount(name, high)}): the price is an extrapolation"))
    size = record["screen_size"]
    if INCHES[0] <= size <= INCHES[1] and record["os"].lower() in SMARTPHONE_OS:
        notes.append(warning("screen_size", "likely_inches",
                             f"screen_size is in cm; {size:g} reads like inches on a smartphone "
                             f"({size:g} in = {size * INCH:.2f} cm: send that if so)"))
    retained = predicted - record["normalized_new_price"]
    if retained > 0:
        field = NEW_PRICE.name if record.get(NEW_PRICE.name) is not None else "normalized_new_price"
        notes.append(warning(field, "above_new_price",
                             "the predicted used price is above the new price sent; check the new price "
                             f"({field} is in {'the dataset currency' if field == NEW_PRICE.name else 'ln(price)'})"))
    return notes
