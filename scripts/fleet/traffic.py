"""Traffic shapes: a rate over time (requests per second) and Poisson arrivals drawn from it.

Sparse traffic is the common case for functions: in the Azure Functions trace studied in
"Serverless in the Wild" (Shahrad et al., USENIX ATC 2020), 81% of applications averaged at
most one invocation per minute and 45% at most one per hour.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DAY = 86400.0


@dataclass(frozen=True)
class Traffic:
    name: str
    mean: float  # requests per second, over a long run
    rate: Callable[[float], float]  # at time t (seconds)
    rows: int = 1  # records per request: 1, or a batch

    def arrivals(self, start: float, end: float, rng: np.random.Generator) -> np.ndarray:
        """Sorted arrival times in [start, end): Poisson with the rate at the interval's middle
        (intervals are an autoscaler's tick, short against every shape's changes)."""
        rate = self.rate((start + end) / 2)
        n = rng.poisson(rate * (end - start)) if rate > 0 else 0
        return np.sort(rng.uniform(start, end, n)) if n else np.empty(0)


def steady(mean: float) -> Traffic:
    return Traffic("steady", mean, lambda t: mean)


def diurnal(mean: float, swing: float = 0.8) -> Traffic:
    """A day's cycle: the trough at midnight, the peak (1 + swing) x mean at noon."""
    return Traffic("diurnal", mean, lambda t: mean * (1 - swing * math.cos(2 * math.pi * (t % DAY) / DAY)))


def bursty(mean: float, on: float = 60.0, off: float = 240.0) -> Traffic:
    """On/off: bursts of `on` seconds at mean x (on + off) / on, silence for `off` seconds."""
    peak = mean * (on + off) / on
    return Traffic("bursty", mean, lambda t: peak if t % (on + off) < on else 0.0)


def flash_crowd(mean: float, at: float = 600.0, factor: float = 50.0, ramp: float = 10.0,
                hold: float = 300.0) -> Traffic:
    """Steady at `mean`, then x`factor` within `ramp` seconds at `at`, held for `hold` seconds."""
    def rate(t: float) -> float:
        if t < at or t >= at + ramp + hold:
            return mean
        return mean * (1 + (factor - 1) * min(1.0, (t - at) / ramp))
    return Traffic("flash crowd", mean, rate)


def batches(mean: float, rows: int = 1000) -> Traffic:
    """Steady requests of `rows` records each (a dealer's inventory, a nightly job)."""
    return Traffic(f"batches of {rows:,} rows", mean, lambda t: mean, rows)


SHAPES: dict[str, Callable[[float], Traffic]] = {"steady": steady, "diurnal": diurnal, "bursty": bursty,
                                                 "flash crowd": flash_crowd, "batches": batches}
