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

from fn.record.columns import Columns, field, first

# The fields the expected error depends on: one weight per value of each, then two for the price.
FIELDS = ("os", "4g", "5g", "release_year")


class ScaleError(ValueError):
    """The expected-error table is malformed."""


def counted_as(listed: list[Any], value: Any) -> int | None:
    """The index of the listed value a record's value counts as: its own; for a number not listed,
    the nearest (a year beyond the data counts as the nearest year, the first of two as near); for
    a string not listed, none. The one rule for the expected error's fields and the Mondrian key
    (fn/model/intervals.py)."""
    at = Listing(listed).index(value)
    return None if at < 0 else at


class Listing:
    """counted_as's list prepared once: index() for one value, indices() for many at once (-1 for
    none; tests/test_features.py holds the two to the same answers)."""

    def __init__(self, listed: list[Any]):
        self.first = {v: i for i, v in reversed(list(enumerate(listed)))}
        self.numbers = len(listed) > 0 and not isinstance(listed[0], str)
        if not self.numbers:
            return
        self.listed = [float(v) for v in listed]
        values = np.asarray(self.listed)
        self.row = values.reshape(1, -1)
        # Whole numbers in order (years, flags): the nearest is found by one binary search over the
        # midpoints between neighbours, which are exact halves (a tie stays with the first).
        self.midpoints = None
        if len(values) > 1 and np.all(np.diff(values) > 0) and np.all(values == np.floor(values)) \
                and np.abs(values).max() < 2 ** 50:
            self.midpoints = (values[1:] + values[:-1]) / 2

    def index(self, value: Any) -> int:
        if not self.numbers:
            return self.first.get(value, -1)
        value = float(value)
        at = self.first.get(value)
        if at is not None:
            return at
        return min(range(len(self.listed)), key=lambda i: abs(self.listed[i] - value))

    def indices(self, values: np.ndarray | list[Any]) -> np.ndarray:
        if not self.numbers:
            return np.array([self.first.get(v, -1) for v in values], dtype=np.int64)
        if self.midpoints is not None:
            return np.searchsorted(self.midpoints, values, side="left")
        return np.abs(self.row - np.asarray(values, dtype=np.float64).reshape(-1, 1)).argmin(axis=1)


def design(records: list[dict[str, Any]], predicted: np.ndarray, values: dict[str, list[Any]],
           prices: tuple[float, float]) -> np.ndarray:
    """The regression's inputs, one row per record: an indicator for each of `values` (per FIELDS,
    the one counted_as marks), then p and p squared with p held within `prices`: what
    convert/train.py regresses on."""
    p = np.clip(np.asarray(predicted, dtype=np.float64).reshape(-1), *prices)
    blocks = []
    for name in FIELDS:
        block = np.zeros((len(records), len(values[name]) + 1))  # the last column: a value counted as none
        block[np.arange(len(records)), Listing(values[name]).indices(field(records, name))] = 1.0
        blocks.append(block[:, :-1])
    return np.column_stack([*blocks, p, p ** 2])


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
        # each field's weights apart, so that a record's sum picks its own (as design's one-hots do);
        # looked up with a 0 after them, for a value counted as none (Listing's -1)
        self.field_weights, self.lookups, at = [], [], 0
        for name in FIELDS:
            listed, own = self.values[name], weights[at:at + len(self.values[name])]
            self.field_weights.append((name, listed, own))
            self.lookups.append((name, Listing(listed), np.array(own + [0.0])))
            at += len(listed)
        self.price_weights = weights[at:]
        # the same weights as floats, for one record's sum (a list's item is a float already)
        self.one_lookups = [(name, listing, column.tolist()) for name, listing, column in self.lookups]

    def one(self, record: dict[str, Any], predicted: float) -> float:
        """One cleaned record's expected error, as of() gives it in a batch (the same sum, in the
        same order, so the same bits)."""
        if self.table is None:
            return 1.0
        (w_p, w_pp), (low, high) = self.price_weights, self.prices
        p = min(max(predicted, low), high)
        eta = self.intercept + w_p * p + w_pp * p * p
        for name, listed, weights in self.one_lookups:
            eta += weights[listed.index(record[name])]
        return math.exp(eta)

    def of(self, records: list[dict[str, Any]] | Columns, predicted: np.ndarray) -> np.ndarray:
        """Each record's expected error: the same sum for a record alone as in a batch, in the same
        order as one record's by hand (so the same bits), its exp by math.exp, row by row, for the
        same reason."""
        if self.table is None:
            return np.ones(len(records))
        if len(records) == 1:  # the usual request: its sum by hand costs a tenth of the arrays'
            return np.array([self.one(first(records), float(np.asarray(predicted).reshape(-1)[0]))])
        (w_p, w_pp), (low, high) = self.price_weights, self.prices
        p = np.minimum(np.maximum(np.asarray(predicted, dtype=np.float64).reshape(-1), low), high)
        eta = self.intercept + w_p * p + w_pp * p * p
        for name, listed, weights in self.lookups:
            eta += weights[listed.indices(field(records, name))]
        return np.array([math.exp(e) for e in eta.tolist()])
