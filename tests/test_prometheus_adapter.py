"""Every prometheus_client internal fn/server/prometheus_adapter.py relies on, checked one by one,
so that an upgrade fails here, naming the assumption it broke, instead of as wrong histograms."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from importlib import metadata

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from fn.server.metrics import BUCKETS
from fn.server.prometheus_adapter import observe_all
from tests.helpers import ROOT

# Values on, between, below and above the bounds: a value equal to a bound counts in its bucket.
VALUES = [0.0, 0.0001, 0.00011, 0.0005, 0.003, 0.003, 0.07, 1.0, 9.9, 10.0, 12.5, 400.0]


def histogram(labels: tuple[str, ...] = ()) -> Histogram:
    made = Histogram("h", "h", list(labels), buckets=BUCKETS, registry=CollectorRegistry())
    return made.labels(*("x" for _ in labels)) if labels else made


def test_prometheus_client_is_the_pinned_version():
    pinned = re.search(r"^prometheus-client==(\S+)", (ROOT / "requirements/common.txt").read_text(), re.M).group(1)
    assert metadata.version("prometheus-client") == pinned, "the adapter was checked against the pinned release only"


def test_upper_bounds_are_the_buckets_then_inf():
    for h in (histogram(), histogram(("code",))):
        assert list(h._upper_bounds) == [*BUCKETS, math.inf], \
            "Histogram._upper_bounds is no longer the sorted bounds ending in +Inf: tallies land in the wrong bucket"


def test_buckets_are_one_value_per_bound_and_observe_adds_to_the_first_bound_at_or_above():
    for value in VALUES:
        h = histogram()
        assert len(h._buckets) == len(h._upper_bounds), "Histogram._buckets is no longer one value per bound"
        h.observe(value)
        counts = [b.get() for b in h._buckets]
        first = next(i for i, bound in enumerate(h._upper_bounds) if value <= bound)
        assert counts == [1.0 if i == first else 0.0 for i in range(len(counts))], \
            f"observe({value}) no longer adds 1 to the first non-cumulative bucket whose bound is >= the value"


def test_sum_is_a_value_observe_adds_to():
    h = histogram()
    h.observe(0.25)
    h.observe(0.5)
    assert h._sum.get() == 0.75, "Histogram._sum is no longer the value observe() adds to"


def test_values_take_an_amount():
    h = histogram()
    h._sum.inc(2.5)
    h._buckets[0].inc(3)
    assert (h._sum.get(), h._buckets[0].get()) == (2.5, 3.0), "a histogram's values no longer take inc(amount)"


def test_a_tally_shows_as_observing_value_by_value():
    registries = CollectorRegistry(), CollectorRegistry()
    by_value, at_once = (Histogram("h", "h", ["code"], buckets=BUCKETS, registry=r).labels("200") for r in registries)
    for v in VALUES:
        by_value.observe(v)
    observe_all(at_once, VALUES)
    created = re.compile(rb"^h_created.*$", re.M)
    one, other = (created.sub(b"", generate_latest(r)) for r in registries)
    assert one == other, "observe_all no longer adds up to what observe() per value shows"


# In multiprocess mode (chosen before prometheus_client is imported) every value is a shared file;
# the parent's scrape reads them through MultiProcessCollector.
MULTIPROCESS = """
import json, sys
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from fn.server.metrics import BUCKETS
from fn.server.prometheus_adapter import observe_all
values = json.loads(sys.argv[1])
by_value = Histogram("by_value", "h", ["code"], buckets=BUCKETS).labels("200")
at_once = Histogram("at_once", "h", ["code"], buckets=BUCKETS).labels("200")
assert type(at_once._sum).__name__ == "MmapedValue", type(at_once._sum)
for v in values:
    by_value.observe(v)
observe_all(at_once, values)
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry)
print(generate_latest(registry).decode())
"""


def test_a_tally_shows_as_observing_value_by_value_in_multiprocess_mode(tmp_path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", MULTIPROCESS, json.dumps(VALUES)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    shown = {kind: sorted(line[len(kind):] for line in lines if line.startswith(kind)) for kind in ("by_value", "at_once")}
    assert shown["by_value"] and shown["by_value"] == shown["at_once"], \
        "in multiprocess mode observe_all no longer adds up to what observe() per value shows"
