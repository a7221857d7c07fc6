"""How a checked device record (fn/record/features.py) becomes the network's input, and the
encoding's parameters learnt from the training rows.

The one place this lives: training (convert/train.py) encodes the dataset with it and the served
model encodes requests with it, so the two cannot drift apart. numpy only: it ships in the image.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from fn.record.columns import Columns, first
from fn.record.features import warning
from fn.record.fields import CATEGORICAL, FIELDS, FLAGS, NUMERIC, OTHERS, REQUIRED, YES_NO
from fn.record.problems import quote

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
        # a row of each identity is a value's one-hot block
        self.one_hot = np.eye(len(self.brands)), np.eye(len(self.systems))
        self.mean = np.asarray(spec["mean"]) if spec.get("mean") else None
        self.std = np.asarray(spec["std"]) if spec.get("std") else None
        # One record (the usual request) is encoded in Python floats, a third of the arrays' cost:
        # each column's scaling, and each number's median and log, looked up once here.
        scaling = list(zip(spec["mean"], spec["std"], strict=True)) if spec.get("mean") else []
        self._numbers = [(f.name, self.impute[i].item(), bool(self.logged[i])) for i, f in enumerate(NUMERIC)]
        # The one-hot columns hold 0 or 1: each column's two scaled values, worked out once.
        hot = self.width - len(FLAGS) - len(NUMERIC)
        self._hot = [[(v - mean) / std for mean, std in scaling[:hot]] for v in (0.0, 1.0)]
        self._tail_scaling = scaling[hot:]

    def raw(self, records: list[dict[str, Any]] | Columns) -> tuple[np.ndarray, list[list[dict[str, str]]]]:
        """Cleaned records -> unscaled columns (one-hots, flags, numbers), plus warnings per row."""
        columns = Columns.of(records)
        warnings: list[list[dict[str, str]]] = [[] for _ in range(len(columns))]
        blocks = []  # the brand's notes before the os's
        if self.brand_width:
            blocks.append(self._one_hot(columns.brand, self.brands, self.one_hot[0], "device_brand", warnings))
        blocks += [self._one_hot(columns.os, self.systems, self.one_hot[1], "os", warnings), columns.flags]
        numbers = columns.numbers
        missing = np.isnan(numbers)
        if np.count_nonzero(missing):  # in C: ndarray.any() goes through Python first
            numbers = np.where(missing, self.impute, numbers)
        # log1p over every column, kept where logged: one call, and no value is below -1
        return np.concatenate(blocks + [np.where(self.logged, np.log1p(numbers), numbers)], axis=1), warnings

    @staticmethod
    def _one_hot(values: list[str], known: dict[str, int], table: np.ndarray, field: str,
                 warnings: list[list[dict[str, str]]]) -> np.ndarray:
        """Each value's one-hot row of `table` (case does not matter); a value never seen is OTHERS's,
        with a warning on its row."""
        found = [known.get(v.lower()) for v in values]
        if None in found:
            for i, j in enumerate(found):
                if j is None:
                    found[i] = _others(known, field, values[i], warnings[i])
        # one record (the usual request): its row as a slice, a third of a list index's cost
        return table[found[0]:found[0] + 1] if len(found) == 1 else table[found]

    def encode(self, records: list[dict[str, Any]] | Columns) -> tuple[np.ndarray, list[list[dict[str, str]]]]:
        """Cleaned records -> standardised float32 model input, plus warnings per row."""
        if self.mean is None or self.std is None:
            raise ValueError("the specification has no scaling statistics yet (fit_spec makes them)")
        if len(records) == 1:
            return self._one(first(records))
        raw, warnings = self.raw(records)  # a new array: scaled in place
        raw -= self.mean
        raw /= self.std
        return raw.astype(np.float32), warnings

    def _one(self, record: dict[str, Any]) -> tuple[np.ndarray, list[list[dict[str, str]]]]:
        """encode for one cleaned record, the same bits: the same float64 operations in the same
        order, value by value (math.log1p is the C library's log1p, as numpy's is; tests hold them
        equal), then one conversion to float32."""
        notes: list[dict[str, str]] = []
        zero, one = self._hot
        row = zero.copy()
        if self.brand_width:
            at = _at(self.brands, "device_brand", record[CATEGORICAL[0]], notes)
            row[at] = one[at]
        at = self.brand_width + _at(self.systems, "os", record[CATEGORICAL[1]], notes)
        row[at] = one[at]
        tail = [record[name] for name in FLAGS]
        for name, median, logged in self._numbers:
            value = record[name]
            if value is None or value != value:  # not sent (None; NaN in a training row's columns)
                value = median
            tail.append(math.log1p(value) if logged else value)
        row += [(v - mean) / std for v, (mean, std) in zip(tail, self._tail_scaling, strict=True)]
        return np.array([row], dtype=np.float32), [notes]


def _at(known: dict[str, int], field: str, value: str, notes: list[dict[str, str]]) -> int:
    """A value's one-hot column within its block (case does not matter)."""
    at = known.get(value.lower())
    return _others(known, field, value, notes) if at is None else at


def _others(known: dict[str, int], field: str, value: str, notes: list[dict[str, str]]) -> int:
    """A value never seen is OTHERS's: its index, with a warning among the row's notes."""
    notes.append(warning(field, "unknown_value", f"unknown {field} {quote(value)} was treated as {OTHERS!r}"))
    return known[OTHERS.lower()]


def encode(spec: dict[str, Any], records: list[dict[str, Any]]) -> tuple[np.ndarray, list[list[dict[str, str]]]]:
    """Encoder(spec).encode(records), for one-off use (training, tests)."""
    return Encoder(spec).encode(records)
