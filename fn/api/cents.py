"""Money rounded to cents exactly as Python's round(value, 2) rounds it, for a batch at once.

round(value, 2) is the double nearest to the decimal that `value` rounds to (half to even on
its exact binary value), one correctly rounded conversion each way: about a third of a µs a
value, four values an answer, the largest part of a batch's answers. Here a whole column
takes a few numpy passes: k = rint(100 value) is that decimal's cents unless 100 value lies
near a half (its product is off by at most half an ulp, below 2**-23 under LIMIT), and k / 100,
two exact doubles divided, is the double nearest to k/100, as round's own conversion gives.
Values near a half, beyond LIMIT, infinite or NaN are rounded by round itself.
tests/test_columns.py holds the two to the same bits.
"""

from __future__ import annotations

import numpy as np

LIMIT = 1e7  # |value| below it: 100 value < 2**30, so the product's error is below 2**-23 of a cent
NEAR_HALF = 1e-6  # cents off a half by less than this (far above the product's error) go to round()
SMALL = 32  # fewer values: round() alone is cheaper than the arrays (about 30: a FEW-row batch's 32 are even)


def cents(values: list[float]) -> list[float]:
    """[round(v, 2) for v in values], the same bits."""
    if len(values) < SMALL:
        return [round(v, 2) for v in values]
    x = np.array(values, dtype=np.float64)
    scaled = x * 100.0
    with np.errstate(invalid="ignore"):  # inf and NaN: handed to round() below
        whole = np.floor(scaled)
        doubt = ~(np.abs(x) < LIMIT) | (np.abs(scaled - whole - 0.5) < NEAR_HALF)
    out = (np.rint(scaled) / 100.0).tolist()
    for i in np.flatnonzero(doubt).tolist():
        out[i] = round(values[i], 2)
    return out
