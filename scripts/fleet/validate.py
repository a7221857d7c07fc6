"""The simulation held against reality, in the same run:

- one replica: the function container (on the host network, pinned to one core, as
  scripts/bench_replica.py measured its service time) under open-loop Poisson load at 30%, 60%
  and 85% of its measured capacity, against the request-level simulation of that replica at the
  same rates: p50 and p99 within 25%;
- scale from zero: `docker run` -> first prediction, measured now, against the simulation's
  first answer from zero replicas (Knative's path): medians within 25%;
- the aggregate model against the request-level one on a day of diurnal traffic at 100 req/s:
  cost and p99 within 5%.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np

from scripts import launch, openloop
from scripts.fleet import aggregate, engine, inputs, policies, traffic

LOADS = (0.30, 0.60, 0.85)
TOLERANCE = 0.25
AGGREGATE_TOLERANCE = 0.05


def _within(simulated: float, measured: float, tolerance: float) -> bool:
    return abs(simulated - measured) <= tolerance * measured


def one_replica(duration: float = 15.0, repeats: int = 3, seed: int = 1) -> list[dict[str, Any]]:
    """Open-loop runs on the real container against the simulation, at each load; `repeats`
    rounds over the loads, interleaved, and the median of each percentile (single runs here
    differ by a third from one to the next). The replica's inputs are measured here, with the
    same client: its capacity and its unloaded latency (one connection, back to back), and its
    wake-up (the median latency at 5% load, where requests find it idle, less that)."""
    from scripts.bench_replica import CLIENT_CPU, start

    name, url = start("function", "device-price-validate")
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
    runs: dict[float, list[dict[str, Any]]] = {load: [] for load in LOADS}
    try:
        openloop.run(url + "/", 200, 2.0, seed)  # warm-up
        closed = openloop.run(url + "/", None, duration, seed, connections=1)
        capacity, unloaded = closed["achieved_rps"], closed["quantiles_s"]
        idle = openloop.run(url + "/", 0.05 * capacity, duration, seed)
        wakeup = max(0.0, (idle["p50_ms"] - closed["p50_ms"]) / 1000)
        for i in range(repeats):
            for load in LOADS:
                measured = openloop.run(url + "/", load * capacity, duration, seed + i)
                del measured["quantiles_s"]
                runs[load].append(measured)
    finally:
        launch.stop_container(name)
    replica = inputs.replica("fn", latencies=unloaded, capacity=capacity, wakeup=wakeup)
    rows = []
    for load, measured in runs.items():
        rate = load * capacity
        fixed = policies.Policy("fixed", "one replica", "validation", duration, 1, 1, "validation", {})
        sim = engine.simulate(traffic.steady(rate), fixed, replica, max(duration * repeats, 60.0), seed)
        median = {key: statistics.median(m[key] for m in measured) for key in ("p50_ms", "p95_ms", "p99_ms")}
        rows.append({"load": load, "rate": rate, "capacity_rps": capacity, "wakeup_ms": wakeup * 1000,
                     "measured": median, "runs": measured,
                     "simulated": {"p50_ms": sim.p50_ms, "p99_ms": sim.p99_ms},
                     "p50_ok": _within(sim.p50_ms, median["p50_ms"], TOLERANCE),
                     "p99_ok": _within(sim.p99_ms, median["p99_ms"], TOLERANCE)})
    return rows


def scale_from_zero(runs: int = 5, seed: int = 1) -> dict[str, Any]:
    """`docker run` -> first prediction, 2 x `runs` times interleaved: the simulation's path from
    zero replicas (Knative's: the request held while a replica starts on a node with the image)
    is fed the odd runs' cold starts and checked against the even runs' first answers, so that
    the check and its input come from the same hour of this machine."""
    from scripts.coldstart import time_docker

    times = [time_docker("device-price-fn:latest")["seconds"] for _ in range(2 * runs)]
    fed, measured = times[0::2], times[1::2]
    replica = inputs.replica("fn")
    replica.cold_docker = np.array(fed)
    simulated = []
    for i in range(runs * 20):
        fleet = engine.Fleet(traffic.steady(1.0), policies.POLICIES["knative"], replica, seed + i)
        fleet.node_has_image = [True] * len(fleet.node_has_image)  # the image is on the node, as measured
        fleet.serve(np.array([0.0]), 0.0)
        simulated.append(fleet.latencies[0])
    m, s = statistics.median(measured), statistics.median(simulated)
    return {"fed_s": fed, "measured_s": measured, "measured_median_s": m, "simulated_median_s": s,
            "ok": _within(s, m, TOLERANCE)}


def aggregate_against_requests(rate: float = 100.0, seed: int = 1) -> dict[str, Any]:
    """A day of diurnal traffic, request by request and in aggregate (Knative, the slim image)."""
    replica, policy = inputs.replica("fn"), policies.POLICIES["knative"]
    shape = traffic.diurnal(rate)
    started = time.perf_counter()
    fine = engine.simulate(shape, policy, replica, traffic.DAY, seed)
    fine_s = time.perf_counter() - started
    started = time.perf_counter()
    coarse = aggregate.simulate(shape, policy, replica, traffic.DAY, seed=seed)
    coarse_s = time.perf_counter() - started
    return {"rate": rate, "policy": policy.name, "request_level": fine.as_dict(), "aggregate": coarse.as_dict(),
            "seconds": {"request_level": fine_s, "aggregate": coarse_s},
            "cost_ok": _within(coarse.cost, fine.cost, AGGREGATE_TOLERANCE),
            "p99_ok": _within(coarse.p99_ms, fine.p99_ms, AGGREGATE_TOLERANCE)}
