"""Every use of a prometheus_client internal, in one place.

prometheus_client is pinned (requirements/serve.txt: 0.14.1, the newest whose exposition does
not import ssl) and tests/test_prometheus_adapter.py checks each assumption below, naming the
one a new release breaks. What is used, and why:
- a Histogram's `_upper_bounds` (its buckets' bounds, sorted, ending in +Inf), `_buckets` (one
  value per bound, not cumulative: observe() adds 1 to the first bucket whose bound is >= the
  value) and `_sum` (a value observe() adds the value to), each value with `inc(amount)`, in
  one process and in multiprocess mode alike: Metrics.flush adds a whole tally of durations
  with one increment per bucket touched. The public observe(), once per value, costs two
  increments per value, each a lock and, with workers, a write to a shared file; measured with
  `python -m scripts.bench_request`, it added about 10 µs per request in multiprocess mode.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from itertools import repeat
from typing import Any


def observe_all(histogram: Any, values: list[float]) -> None:
    """histogram.observe(v) for each v (a histogram without labels, or one child of one with
    labels), with one increment per bucket touched."""
    if not values:
        return
    counts = Counter(map(bisect_left, repeat(histogram._upper_bounds, len(values)), values))
    histogram._sum.inc(math.fsum(values))
    for i, n in counts.items():
        histogram._buckets[i].inc(n)
