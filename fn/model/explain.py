"""Why a price: each field's share of (price - reference price), by sampled Shapley values.

The reference is the training rows' typical device (medians, most common brand, os and flags:
spec["reference"]). A field's contribution is its average effect, in price units, of switching
it from the reference value to the record's value, over PERMUTATIONS orders of the 14 fields:
half drawn at random, half their reverses (antithetic pairs, which cancel much of the sampling
error). Along each order the steps telescope from the reference price to the record's price, so
the contributions add up to (price - reference price) exactly, whatever the sample; a field
equal to the reference contributes exactly 0.

The reasons agree with the network's constraints (convert/network.py): each step along an order
changes one field with every other field fixed, and the network never lowers the price as a
constrained field rises (never raises it, for days_used), so each of that field's steps, and their
mean, has the sign of (record's value - reference value): a newer release never shows as lowering
the price against an older reference. tests/test_constraints.py holds it on every test row.

Why this method: exact Shapley values (`exact`) need a model row for every subset of the fields
that have columns: 2^13 = 8,192 per record here (2^14 with the brand), and the ten members
compute each. They are served for a single record only where the whole explained request stays
within 5 ms p50 in process (EXACT_SINGLE; `python -m scripts.bench_person --process-only`
measures both ways); a path method (integrated gradients) needs gradients, which a TFLite
interpreter does not give. Sampled orders need 13 rows each, all computed in one batched invoke
with the prediction itself. numpy only: this module ships in the function image.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fn.model.interface import Model
from fn.record.fields import CATEGORICAL, FLAGS, NUMERIC

PERMUTATIONS = 32  # 16 random orders and their reverses: 32 x 13 + 1 = 417 rows per record
SEED = 0  # the same orders for every request: an explanation is reproducible
METHOD = (f"sampled Shapley values, {PERMUTATIONS} orders of the fields (antithetic pairs), "
          "in price units, relative to the reference device")
# A single record's explanation is exact when that keeps its whole request within 5 ms p50 in
# process (python -m scripts.bench_person --process-only measures both ways).
EXACT_SINGLE = False
EXACT = "exact Shapley values over every subset of the fields, in price units, relative to the reference device"
# The encoder's column blocks, in its order (fn/encoding.Encoder.raw).
FIELD_ORDER = CATEGORICAL + FLAGS + tuple(f.name for f in NUMERIC)


class Explainer:
    """Explanations for one model: the reference encoded and the orders drawn once."""

    def __init__(self, model: Model, permutations: int = PERMUTATIONS, seed: int = SEED):
        self.model = model
        encoder = model.encoder
        blocks = [encoder.brand_width, len(encoder.systems)] + [1] * (len(FLAGS) + len(NUMERIC))
        # column -> the field it encodes
        self.column_field = np.repeat(np.arange(len(FIELD_ORDER)), blocks)
        reference = dict(model.spec["reference"])
        self.reference_x, _ = encoder.encode([reference])
        # as a client would send it
        self.reference = {k: ("yes" if v else "no") if k in FLAGS else v for k, v in reference.items()}
        rng = np.random.default_rng(seed)
        half = [rng.permutation(len(FIELD_ORDER)) for _ in range(max(1, permutations // 2))]
        self.orders = np.array(half + [order[::-1] for order in half])
        k, d = self.orders.shape
        # masks[k, j]: the fields switched to the record's values after j + 1 steps of order k
        steps = np.zeros((k, d - 1, d), dtype=bool)
        for j in range(d - 1):
            steps[np.arange(k), j:, self.orders[:, j]] = True
        self.column_masks = steps.reshape(k * (d - 1), d)[:, self.column_field]
        self.positions = np.argsort(self.orders, axis=1)  # positions[k, field]: its step in order k
        self._exact: tuple[np.ndarray, dict[int, tuple]] | None = None  # made on first use (exact)

    def contributions(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list[dict[str, float]]]:
        """Encoded records (n, columns) and their predictions (n,) -> the reference's log price and,
        per record, {field: contribution in price units}; one model invoke for all records."""
        n, (k, d) = len(x), self.orders.shape
        mixed = np.where(self.column_masks[None, :, :], x[:, None, :], self.reference_x[None, :, :])
        rows = np.vstack([self.reference_x, mixed.reshape(-1, x.shape[1])])
        predicted = self.model.predict_matrix(rows)
        reference = float(predicted[0])
        prices = np.empty((n, k, d + 1))
        # np.exp as for every other row: math.exp may differ in the last bit, and a field equal to the
        # reference, first in an order, would then get a step of that bit instead of exactly 0
        prices[:, :, 0] = np.exp(predicted[0])
        prices[:, :, 1:d] = np.exp(predicted[1:]).reshape(n, k, d - 1)
        prices[:, :, d] = np.exp(y)[:, None]
        steps = np.diff(prices, axis=2)  # steps[i, k, j]: the effect of order k's j-th field
        shares = np.take_along_axis(steps, np.broadcast_to(self.positions, (n, k, d)), axis=2).mean(axis=1)
        return reference, [dict(zip(FIELD_ORDER, row.tolist(), strict=True)) for row in shares]

    def exact(self, x: np.ndarray, y: float) -> tuple[float, dict[str, float]]:
        """One encoded record (1, columns) and its prediction -> the reference's log price and exact
        Shapley values: every subset of the fields that have columns (a field without any, such as
        a dropped brand, cannot move the price and gets exactly 0) switched to the record's values,
        2^m model rows in one invoke, each field's marginal effects weighted by |S|! (m-|S|-1)! / m!."""
        if self._exact is None:
            self._exact = _exact_plan(self.column_field, len(FIELD_ORDER))
        masks, plan = self._exact
        rows = np.where(masks, x, self.reference_x)
        prices = np.exp(self.model.predict_matrix(rows))
        reference = math.log(prices[0])
        prices[-1] = math.exp(y)  # the full subset is the record: its own prediction, so they add up to it
        shares = dict.fromkeys(FIELD_ORDER, 0.0)
        for field, (without, with_, weight) in plan.items():
            shares[FIELD_ORDER[field]] = float(np.dot(prices[with_] - prices[without], weight))
        return reference, shares

    def explanation(self, reference: float, shares: dict[str, float], method: str = METHOD) -> dict[str, Any]:
        return {"method": method, "reference_price": math.exp(reference), "reference": self.reference,
                "contributions": shares}


def _exact_plan(column_field: np.ndarray, fields: int) -> tuple[np.ndarray, dict[int, tuple]]:
    """The 2^m column masks of every subset of the m fields with columns (subset 0 is the reference,
    the last the record), and per field the subsets without it, with it, and their Shapley weights."""
    active = np.unique(column_field)
    m = len(active)
    subsets = np.arange(2**m)
    bits = ((subsets[:, None] >> np.arange(m)) & 1).astype(bool)
    chosen = np.zeros((2**m, fields), dtype=bool)
    chosen[:, active] = bits
    size = bits.sum(axis=1)
    weight = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)])
    plan = {}
    for j, field in enumerate(active):
        without = subsets[~bits[:, j]]
        plan[int(field)] = (without, without | (1 << j), weight[size[without]])
    return chosen[:, column_field], plan
