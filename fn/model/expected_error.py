"""A device's expected error, the scale of the price ranges' errors (fn/model/intervals.py).

A Gamma regression with a log link of the training rows' out-of-fold errors (convert/train.py fits
it) on the device's os, 4g, 5g and release year (an indicator per value) and its predicted log
price p (p and p squared, p held within the training rows' predicted prices: beyond them the
square would explode, and the edge's error is the best guess there is). Dividing each calibration
row's error by its own makes the errors alike across kinds of device, so that one cell's quantile
fits each kind in it: a rare kind (another os, 5G) that errs more gets a wider range instead of
falling outside it more often. numpy only: this module ships in the function image.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# The fields the expected error depends on: one weight per value of each, then two for the price.
FIELDS = ("os", "4g", "5g", "release_year")


class ScaleError(ValueError):
    """The expected-error table is malformed."""


def counted_as(listed: list[Any], value: Any) -> int | None:
    """The index of the listed value a record's value counts as: its own; for a number not listed,
    the nearest (a year beyond the data counts as the nearest year, the first of two as near); for
    a string not listed, none. The one rule for the expected error's fields and the Mondrian key
    (fn/model/intervals.py)."""
    if listed and not isinstance(listed[0], str):
        value = float(value)
        if value in listed:
            return listed.index(value)
        return min(range(len(listed)), key=lambda i: abs(listed[i] - value))
    return listed.index(value) if value in listed else None


def design(records: list[dict[str, Any]], predicted: np.ndarray, values: dict[str, list[Any]],
           prices: tuple[float, float]) -> np.ndarray:
    """The regression's inputs, one row per record: an indicator for each of `values` (per FIELDS,
    the one counted_as marks), then p and p squared with p held within `prices`: what
    convert/train.py regresses on."""
    p = np.clip(np.asarray(predicted, dtype=np.float64).reshape(-1), *prices)
    columns = []
    for field in FIELDS:
        block = np.zeros((len(records), len(values[field])))
        for row, record in enumerate(records):
            if (at := counted_as(values[field], record[field])) is not None:
                block[row, at] = 1.0
        columns.append(block)
    return np.column_stack([*columns, p, p ** 2])


class Scale:
    """exp(intercept + weights . design(record, p)) per record, from its table (see the module);
    None: every device 1."""

    def __init__(self, table: dict[str, Any] | None):
        self.table = table
        if table is None:
            return
        try:
            self.values = {f: list(table["values"][f]) for f in FIELDS}
            self.prices = (float(table["prices"][0]), float(table["prices"][1]))
            self.intercept = float(table["intercept"])
            weights = [float(w) for w in table["weights"]]
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise ScaleError(f"malformed expected-error table ({type(e).__name__}: {e})") from e
        if len(weights) != sum(map(len, self.values.values())) + 2:
            raise ScaleError("malformed expected-error table: one weight per value and two for the price")
        # each field's weights apart, so that a record's sum picks its own (as design's one-hots do)
        self.field_weights, at = [], 0
        for field in FIELDS:
            self.field_weights.append((field, self.values[field], weights[at:at + len(self.values[field])]))
            at += len(self.values[field])
        self.price_weights = weights[at:]

    def of(self, records: list[dict[str, Any]], predicted: np.ndarray) -> np.ndarray:
        """Each record's expected error: the same sum for a record alone as in a batch (one record
        is the usual request, and costs microseconds this way)."""
        if self.table is None:
            return np.ones(len(records))
        (w_p, w_pp), (low, high), out = self.price_weights, self.prices, []
        for record, p in zip(records, np.asarray(predicted, dtype=np.float64).reshape(-1).tolist(), strict=True):
            p = min(max(p, low), high)
            eta = self.intercept + w_p * p + w_pp * p * p
            for field, listed, weights in self.field_weights:
                if (at := counted_as(listed, record[field])) is not None:
                    eta += weights[at]
            out.append(math.exp(eta))
        return np.asarray(out)
