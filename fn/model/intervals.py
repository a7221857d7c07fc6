"""Calibrated price ranges: CV+ (Barber et al., 2021) over the network's fold members, Mondrian
by a field of the record.

Training (convert/train.py) fits K members, member k on every training row but fold k's, and
keeps each row's out-of-fold error: the residual R_i = |y_i - mu_k(i)(x_i)| of the one member
that never saw row i. Every training row is thus both fitted (by K - 1 members) and calibrating
(for the one that left it out), and no row is held out of the network. For a new device x the
range at level 1 - a is

    low  = the floor(a (n + 1))-th smallest of  mu_k(i)(x) - R_i
    high = the ceil((1 - a)(n + 1))-th smallest of  mu_k(i)(x) + R_i

over the n calibration rows (CV+: guaranteed at least 1 - 2a, about 1 - a in practice; chosen
over cross-conformal because it gives an interval with a stated guarantee from each member's
prediction alone, which the one TFLite file gives as its outputs; jackknife+ would need one refit
per row, and a held-out calibration set cost the network 15% of its rows).

Mondrian: the rows are grouped by one field (table["group_by"], e.g. release_year) and, within
it, by the tercile of the predicted price (the terciles of the training rows' out-of-fold
predictions); a device is calibrated by the rows of its own cell only, so that the promise holds
for each year and each price band, not only on average (chosen by the out-of-fold coverage of the
training rows: either key alone left the other key's groups off their level). Neighbouring values
with fewer than MIN_GROUP rows share a group, a cell of fewer than MIN_CELL rows joins its
neighbour tercile, and a value outside every group takes the nearest one.

Scaled: with an expected-error table (fn/model/expected_error.py), R_i is row i's error divided
by its own expected error s(x_i), and a device's range reaches mu_k(i)(x) +- s(x) R_i, so that a
kind of device that errs more (another os, 5G) gets a wider range within its cell rather than one
that misses more often (chosen the same way: without it, those kinds fell short of their level).
numpy only: this module ships in the function image.

The promise is marginal within a group: over devices like the ones the model learnt from, a
`level` range holds the real used price that often. It says nothing certain about one device,
and nothing about devices unlike the training data (the warnings say when a record is one).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from fn.model.expected_error import Listing, Scale
from fn.record.columns import FEW, Columns, dicts, field

FILE = "intervals.json"
LEVELS = (0.8, 0.9)
DEFAULT_LEVEL = 0.9  # the range an answer carries when the request names no level
METHOD = ("CV+ over the fold members, Mondrian by {group_by} and predicted-price tercile, errors scaled by "
          "each device's expected error (os, 4g, 5g, release_year, predicted price)")
# The groups the coverage is reported for (model/metrics.json, the model card); a group of
# fewer test rows than MIN_ROWS is not reported (its coverage would be mostly noise).
REPORTED = ("os", "4g", "5g", "release_year", "price_tercile")
MIN_ROWS = 50
MIN_GROUP = 100  # calibration rows a value of group_by needs (fewer: it joins a neighbour)
MIN_CELL = 30  # calibration rows a (value, price tercile) cell needs (fewer: it joins the next tercile)
BINS = 3  # price terciles


class IntervalError(Exception):
    """The interval table is malformed."""


def _rank(n: int, level: float) -> int:
    """The CV+ upper rank ceil((n + 1) * level) (1-based), which needs n >= it."""
    rank = math.ceil((n + 1) * level - 1e-9)
    if rank > n:
        raise IntervalError(f"{n} calibration rows are too few for a {level:.0%} range")
    return rank


def _merge(keys: np.ndarray, smallest: int) -> list[list[float]]:
    """The distinct keys in order, neighbours merged until each group holds `smallest` rows (or
    one group is left): a small group's quantile would be mostly noise."""
    values, counts = np.unique(keys, return_counts=True)
    groups, sizes = [[float(v)] for v in values], [int(c) for c in counts]
    while len(groups) > 1 and min(sizes) < smallest:
        g = int(np.argmin(sizes))
        other = g - 1 if g == len(groups) - 1 or (g > 0 and sizes[g - 1] <= sizes[g + 1]) else g + 1
        first, second = sorted((g, other))
        groups[first:second + 1] = [groups[first] + groups[second]]
        sizes[first:second + 1] = [sizes[first] + sizes[second]]
    return groups


def fit(oof: np.ndarray, actual: np.ndarray, fold: np.ndarray, keys: np.ndarray, group_by: str,
        levels: tuple[float, ...] = LEVELS, default_level: float = DEFAULT_LEVEL,
        scale: dict[str, Any] | None = None, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The interval table from the training rows' out-of-fold predictions, targets (log prices),
    folds and group keys (the value of `group_by` of each row); with a `scale` (see Scale), each
    row's error is divided by its expected error, which needs the rows' `records`."""
    oof, actual = np.asarray(oof, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    fold, keys = np.asarray(fold, dtype=np.int64), np.asarray(keys, dtype=np.float64)
    residual = np.abs(actual - oof)
    if scale is not None:
        if records is None or len(records) != len(oof):
            raise IntervalError("a scaled table needs each calibration row's record")
        residual = residual / Scale(scale).of(records, oof)
    edges = np.quantile(oof, [1 / 3, 2 / 3])
    tercile = np.searchsorted(edges, oof, side="right")
    groups = []
    for values in _merge(keys, MIN_GROUP):
        in_group = np.isin(keys, values)
        for terciles in _merge(tercile[in_group].astype(np.float64), MIN_CELL):
            at = in_group & np.isin(tercile, terciles)
            for level in levels:
                _rank(int(at.sum()), level)  # every cell must be able to give every level
            groups.append({"values": values, "terciles": [int(t) for t in terciles],
                           "fold": fold[at].tolist(), "residual": residual[at].tolist()})
    return {
        "method": METHOD.format(group_by=group_by),
        "scale": "normalized_used_price (natural log)",
        "group_by": group_by,
        "levels": list(levels),
        "default_level": default_level,
        "calibration_rows": int(len(oof)),
        "members": int(fold.max()) + 1,
        # Terciles of the training rows' out-of-fold predictions: the second Mondrian key, and the
        # price groups the coverage is reported for (see score).
        "price_edges": edges.tolist(),
        "expected_error": scale,
        "groups": groups,
    }


def _cv_plus(near: np.ndarray, reach: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) per row of `near` ([rows,] n: each calibration row's member prediction mu_k(i)(x)),
    from `reach` (the same shape: s(x) R_i, R_i the scaled error, s(x) the row's expected error): the
    rank-th (from 0) smallest of mu_k(i)(x) + s(x) R_i, and low by symmetry, minus the rank-th
    smallest of s(x) R_i - mu_k(i)(x). Each partitioned in place, `reach` overwritten: a batch's
    ranges are a pass over rows x calibration rows, the largest of its request."""
    low = reach - near
    low.partition(rank, axis=-1)
    high = np.add(near, reach, out=reach)
    high.partition(rank, axis=-1)
    return -low[..., rank], high[..., rank]


class Intervals:
    """One interval table, applied to the members' predictions."""

    def __init__(self, table: dict[str, Any]):
        try:
            self.method = str(table["method"])
            self.group_by = str(table["group_by"])
            self.levels = tuple(sorted(float(v) for v in table["levels"]))
            self.default = float(table["default_level"])
            self.members = int(table["members"])
            self.price_edges = np.asarray(table["price_edges"], dtype=np.float64)
            self.scale = Scale(table.get("expected_error"))  # a table without one: unscaled errors
            groups = table["groups"]
            self.folds = [np.asarray(g["fold"], dtype=np.int64) for g in groups]
            self.residuals = [np.asarray(g["residual"], dtype=np.float64) for g in groups]
            # each cell's rows largest error first (an order statistic does not depend on the order;
            # _ends reads a prefix), and the errors negated, ascending, to search
            order = [np.argsort(-r, kind="stable") for r in self.residuals]
            self.folds = [f[o] for f, o in zip(self.folds, order, strict=True)]
            self.residuals = [r[o] for r, o in zip(self.residuals, order, strict=True)]
            self.descending = [-r for r in self.residuals]
            # every value of group_by a cell stands for; cell[value index, tercile] -> its cell, a
            # tercile the value's rows lack taking the nearest one they have
            self.keys = np.array(sorted({float(v) for g in groups for v in g["values"]}))
            self.cell = np.full((len(self.keys), BINS), -1, dtype=np.int64)
            for i, g in enumerate(groups):
                for v in g["values"]:
                    self.cell[np.searchsorted(self.keys, float(v)), [int(t) for t in g["terciles"]]] = i
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise IntervalError(f"malformed interval table ({type(e).__name__}: {e})") from e
        if not groups or not self.levels or any(len(f) != len(r) for f, r in zip(self.folds, self.residuals, strict=True)):
            raise IntervalError("malformed interval table: each group needs one fold per residual")
        if self.default not in self.levels:
            raise IntervalError(f"malformed interval table: the default level {self.default:g} is not one of its "
                                f"levels ({', '.join(f'{v:g}' for v in self.levels)})")
        if any(f.min() < 0 or f.max() >= self.members for f in self.folds):
            raise IntervalError("malformed interval table: a fold beyond the members")
        for row in self.cell:
            have = np.flatnonzero(row >= 0)
            if not len(have):
                raise IntervalError("malformed interval table: a value with no cell")
            row[:] = row[have[np.abs(np.arange(BINS)[:, None] - have[None, :]).argmin(axis=1)]]
        # Precomputed once, because every answer pays for them (a single record's range costs
        # about as much as its TFLite call): each cell's CV+ rank per level.
        self.ranks = {level: [_rank(len(r), level) for r in self.residuals] for level in self.levels}
        self.key_listing = Listing(self.keys.tolist())
        self.edges = self.price_edges.tolist()

    def group_of(self, records: list[dict[str, Any]] | Columns, predicted: np.ndarray) -> np.ndarray:
        """Each record's cell: its own value's (else the nearest value's) at its predicted price's tercile
        (a batch of at most FEW rows finds each row's with _cell instead)."""
        at = self.key_listing.indices(field(records, self.group_by))
        return self.cell[at, np.searchsorted(self.price_edges, np.asarray(predicted, dtype=np.float64), side="right")]

    def bounds(self, members: np.ndarray, level: float, records: list[dict[str, Any]] | Columns,
               predicted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) on the log scale for each row of members (n, K), at one of self.levels;
        `predicted` is the members' mean when the caller has it already."""
        members = np.asarray(members, dtype=np.float64)
        if predicted is None:
            predicted = members.mean(axis=1)
        ranks = self.ranks.get(level) or [_rank(len(r), level) for r in self.residuals]
        low, high = np.empty(len(members)), np.empty(len(members))
        if len(members) <= FEW:  # one record (the usual request) or a few: each its own cell, at a fraction of the cost
            values, cleaned = predicted.tolist(), dicts(records)
            for i in range(len(members)):
                low[i], high[i] = self._one(members[i], ranks, cleaned[i], values[i])
            return low, high
        cells = self.group_of(records, predicted)
        scale = self.scale.of(records, predicted)
        for g in np.unique(cells).tolist():
            rows = np.flatnonzero(cells == g)
            low[rows], high[rows] = self._ends(g, members[rows], scale[rows], ranks[g] - 1)
        return low, high

    def _ends(self, g: int, members: np.ndarray, scale: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
        """_cv_plus for rows of cell g over the calibration rows that can hold an end, the same bits.
        Both ends are the t-th largest (t = n - rank) of values mu_k(i) +- s R_i that differ from
        s R_i by at most the members' spread; the t rows of largest R give t values at least
        min mu + s R_(t), so a row whose R is below R_(t) by more than the spread over s (plus a
        margin far above rounding) cannot reach an end. The rest, a prefix of the rows (largest
        R first), gives the same order statistic at a fraction of the full pass's cost."""
        residual, t = self.residuals[g], len(self.residuals[g]) - rank
        top = np.abs(members).max(axis=1)
        spread = members.max(axis=1) - members.min(axis=1) + 1e-9 * (1 + top + scale * residual[0])
        cut = residual[t - 1] - float((spread / scale).max())
        kept = max(t, int(np.searchsorted(self.descending[g], -cut, side="right")))  # R >= cut (NaN: all)
        return _cv_plus(members.take(self.folds[g][:kept], axis=1), residual[None, :kept] * scale[:, None], kept - t)

    def _cell(self, record: dict[str, Any], predicted: float) -> int:
        return int(self.cell[self.key_listing.index(record[self.group_by]), bisect.bisect_right(self.edges, predicted)])

    def _one(self, members: np.ndarray, ranks: list[int], record: dict[str, Any],
             predicted: float) -> tuple[float, float]:
        """bounds for one record (the usual request): its cell and scale without arrays."""
        g = self._cell(record, predicted)
        low, high = _cv_plus(members.take(self.folds[g]), self.residuals[g] * self.scale.one(record, predicted),
                             ranks[g] - 1)  # one row: its calibration rows along the one axis
        return low, high

    def covered(self, members: np.ndarray, actual: np.ndarray, records: list[dict[str, Any]],
                predicted: np.ndarray | None = None) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """Per level, whether each row's range holds its actual log price, and the range's width
        relative to the predicted price (in price units)."""
        members, actual = np.asarray(members, dtype=np.float64), np.asarray(actual, dtype=np.float64)
        if predicted is None:
            predicted = members.mean(axis=1)
        out = {}
        for level in self.levels:
            low, high = self.bounds(members, level, records, predicted)
            out[level] = ((low <= actual) & (actual <= high), (np.exp(high) - np.exp(low)) / np.exp(predicted))
        return out

    def score(self, members: np.ndarray, actual: np.ndarray, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Coverage and mean relative width per level, over all rows and for each reported group
        of at least MIN_ROWS rows."""
        predicted = np.asarray(members, dtype=np.float64).mean(axis=1)
        return tally(self.covered(members, actual, records, predicted), labels(records, predicted, self.price_edges))


def labels(records: list[dict[str, Any]], predicted: np.ndarray, price_edges: np.ndarray) -> dict[str, list[str]]:
    """Each row's label in each REPORTED grouping (its predicted price's tercile by price_edges)."""
    tercile = np.searchsorted(price_edges, np.asarray(predicted, dtype=np.float64), side="right")
    out = {name: [f"{name}={r[name]:g}" if not isinstance(r[name], str) else f"{name}={r[name]}" for r in records]
           for name in REPORTED if name != "price_tercile"}
    out["price_tercile"] = [f"price_tercile={('low', 'middle', 'high')[t]}" for t in tercile]
    return out


def tally(covered: dict[float, tuple[np.ndarray, np.ndarray]], labelled: dict[str, list[str]]) -> dict[str, Any]:
    """Per level (from covered), the coverage and mean relative width over all rows and for each
    labelled group of at least MIN_ROWS rows."""
    out: dict[str, Any] = {}
    for level, (hit, width) in covered.items():
        by_group = {}
        for name in REPORTED:
            names = np.array(labelled[name])
            for label in sorted(set(labelled[name])):
                at = names == label
                if at.sum() >= MIN_ROWS:
                    by_group[label] = {"rows": int(at.sum()), "coverage": float(np.mean(hit[at])),
                                       "mean_relative_width": float(np.mean(width[at]))}
        out[f"{level:g}"] = {"rows": int(len(hit)), "coverage": float(np.mean(hit)),
                             "mean_relative_width": float(np.mean(width)), "groups": by_group}
    return out
