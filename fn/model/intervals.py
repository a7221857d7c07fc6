"""Calibrated price ranges: split conformal prediction, Mondrian by the predicted price.

Training (convert/train.py) holds calibration rows out of every member of the network, and
`fit` learns, from their absolute errors on the log scale, how far to reach either side of a
prediction so that a stated share of new devices falls inside. The errors are grouped by the
predicted price (BINS groups of equal size): cheap devices are predicted less surely than dear
ones, so each group gets its own reach (a Mondrian conformal predictor: the promise holds within
each group, not only on average). Serving (fn/api/dataplane.py) applies the table with `bounds`. numpy
only: this module ships in the function image.

The promise is marginal: over devices like the ones the model learnt from, a `level` range holds
the real used price that often. It says nothing certain about one device, and nothing about
devices unlike the training data (the warnings say when a record is one).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FILE = "intervals.json"
LEVELS = (0.8, 0.9)
DEFAULT_LEVEL = 0.9  # the range an answer carries when the request names no level
BINS = 3
METHOD = "split conformal, Mondrian by predicted price (groups of equal size on the calibration rows)"


class IntervalError(Exception):
    """The interval table is malformed."""


def _quantile(scores: np.ndarray, level: float) -> float:
    """The conformal quantile: the ceil((n + 1) * level)-th smallest score (finite-sample valid)."""
    n = len(scores)
    rank = math.ceil((n + 1) * level)
    if rank > n:
        raise IntervalError(f"{n} calibration rows are too few for a {level:.0%} range")
    return float(np.sort(scores)[rank - 1])


def fit(predicted: np.ndarray, actual: np.ndarray, levels: tuple[float, ...] = LEVELS,
        bins: int = BINS, default_level: float = DEFAULT_LEVEL) -> dict[str, Any]:
    """The interval table from calibration rows' predictions and targets (both log prices)."""
    predicted, actual = np.asarray(predicted, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    edges = np.quantile(predicted, np.linspace(0, 1, bins + 1)[1:-1]).tolist()
    group = np.searchsorted(edges, predicted, side="right")
    scores = np.abs(actual - predicted)
    return {
        "method": METHOD,
        "scale": "normalized_used_price (natural log)",
        "calibration_rows": int(len(predicted)),
        "edges": edges,
        "rows_per_group": [int(np.sum(group == g)) for g in range(bins)],
        "reach": {f"{level:g}": [_quantile(scores[group == g], level) for g in range(bins)] for level in levels},
        "default_level": default_level,
    }


class Intervals:
    """One interval table, applied to predictions."""

    def __init__(self, table: dict[str, Any]):
        try:
            self.edges = np.asarray(table["edges"], dtype=np.float64)
            self.reach = {float(level): np.asarray(values, dtype=np.float64) for level, values in table["reach"].items()}
            self.method = str(table["method"])
            self.default = float(table["default_level"])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise IntervalError(f"malformed interval table ({type(e).__name__}: {e})") from e
        if not self.reach or any(len(v) != len(self.edges) + 1 for v in self.reach.values()):
            raise IntervalError("malformed interval table: each level needs one reach per group")
        self.levels = tuple(sorted(self.reach))
        if self.default not in self.reach:
            raise IntervalError(f"malformed interval table: the default level {self.default:g} is not one of its "
                                f"levels ({', '.join(f'{v:g}' for v in self.levels)})")

    def bounds(self, predicted: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) on the log scale for each prediction, at one of self.levels."""
        predicted = np.asarray(predicted, dtype=np.float64)
        reach = self.reach[level][np.searchsorted(self.edges, predicted, side="right")]
        return predicted - reach, predicted + reach

    def score(self, predicted: np.ndarray, actual: np.ndarray) -> dict[str, dict[str, float]]:
        """Coverage and mean relative width (in price units, of the predicted price) per level."""
        out = {}
        for level in self.levels:
            low, high = self.bounds(predicted, level)
            covered = (low <= actual) & (actual <= high)
            width = (np.exp(high) - np.exp(low)) / np.exp(predicted)
            out[f"{level:g}"] = {"coverage": float(np.mean(covered)), "mean_relative_width": float(np.mean(width))}
        return out
