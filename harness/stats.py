"""Summary statistics the measuring commands share: percentiles, medians over runs, one
bootstrap. Standard library only at import."""

from __future__ import annotations

import math
import statistics
from typing import Any


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def spread(values: list[float]) -> dict[str, float]:
    """n, min, median, p90, max."""
    return {"n": len(values), "min": min(values), "median": statistics.median(values),
            "p90": percentile(values, 90), "max": max(values)}


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-figure median over several runs (each run kept alongside by the callers)."""
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def bootstrap(values: Any, draws: int = 5000, rng: Any = None) -> list[float]:
    """The 95% bootstrap interval of the median of `values` (resampled with replacement `draws`
    times; `rng` a numpy Generator, default seeded 0 so a rerun on the same data agrees)."""
    import numpy as np  # here: the rest of this module runs under a bare python3

    values = np.asarray(values)
    rng = np.random.default_rng(0) if rng is None else rng
    medians = [np.median(values[rng.integers(0, len(values), len(values))]) for _ in range(draws)]
    return [float(v) for v in np.percentile(medians, [2.5, 97.5])]
