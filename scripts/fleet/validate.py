"""The simulation held against reality, in the same run:

- one replica: the function container (on the host network, pinned to one core, as
  scripts/bench_replica.py measured its service time) under open-loop Poisson load at 30%, 60%
  and 85% of its measured capacity, ten runs each, against ten request-level simulations of
  that replica at the rates the runs achieved: the bands of seven quantiles, p10 to p99;
- scale from zero: `docker run` -> first prediction, measured now, against the simulation's
  first answer from zero replicas (Knative's path): medians within 25%.
"""

from __future__ import annotations

import os
import statistics
from typing import Any

import numpy as np

from harness import launch
from harness.load import open_loop
from scripts.fleet import engine, inputs, policies, traffic

LOADS = (0.30, 0.60, 0.85)
TOLERANCE = 0.25


def _within(simulated: float, measured: float, tolerance: float) -> bool:
    return abs(simulated - measured) <= tolerance * measured


QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99)


def _quantiles(values: np.ndarray | list[float]) -> list[float]:
    return [float(q) * 1000 for q in np.quantile(np.asarray(values, dtype=float), QUANTILES)]


def _band(runs: list[list[float]]) -> dict[str, list[float]]:
    """Per quantile, over the runs (one row each): the lowest, the median and the highest."""
    a = np.asarray(runs, dtype=float)
    return {"low": np.min(a, axis=0).tolist(), "median": np.median(a, axis=0).tolist(),
            "high": np.max(a, axis=0).tolist()}


def one_replica(duration: float = 6.0, repeats: int = 10, seed: int = 1) -> list[dict[str, Any]]:
    """Open-loop runs on the real container against the simulation, the whole distribution: at
    each load, `repeats` runs (interleaved over the loads) give a band per quantile (the runs'
    range); as many simulations of the same length, each at the rate one run achieved, give the
    simulation's band. A quantile agrees when the bands overlap; the measured band's width says
    what this machine can distinguish. The replica's inputs are measured here, with the same
    client: its capacity and unloaded latency (one connection, back to back), and its wake-up
    (the median latency at 5% load, where requests find it idle, less that)."""
    from harness.stats import CLIENT_CPU, REPLICA_CPU

    name, url = launch.docker_run_pinned("function", "device-price-validate", REPLICA_CPU)
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
    runs: dict[float, list[dict[str, Any]]] = {load: [] for load in LOADS}
    try:
        open_loop(url + "/", 200, 2.0, seed)  # warm-up
        closed = open_loop(url + "/", None, duration, seed, connections=1)
        capacity, unloaded = closed["achieved_rps"], closed["quantiles_s"]
        idle = open_loop(url + "/", 0.05 * capacity, duration, seed)
        wakeup = max(0.0, (idle["p50_ms"] - closed["p50_ms"]) / 1000)
        for i in range(repeats):
            for load in LOADS:
                measured = open_loop(url + "/", load * capacity, duration, seed + i)
                measured["q_ms"] = _quantiles(measured.pop("quantiles_s"))
                runs[load].append(measured)
    finally:
        launch.stop_container(name)
    replica = inputs.replica("fn", latencies=unloaded, capacity=capacity, wakeup=wakeup)
    fixed = policies.Policy("fixed", "one replica", "validation", 1.0, 1, 1, "validation", {"platform_queues": True})
    rows = []
    for load, measured in runs.items():
        simulated = []
        for i, run in enumerate(measured):
            fleet = engine.Fleet(traffic.steady(run["achieved_rps"]), fixed, replica, seed + 100 + i, warmup=2.0)
            fleet.run(duration)
            simulated.append(_quantiles(fleet.latencies))
        m, s = _band([r["q_ms"] for r in measured]), _band(simulated)
        overlap = [bool(a <= d and c <= b) for a, b, c, d in zip(m["low"], m["high"], s["low"], s["high"], strict=True)]
        rows.append({"load": load, "rate": load * capacity, "capacity_rps": capacity, "wakeup_ms": wakeup * 1000,
                     "duration_s": duration, "quantiles": list(QUANTILES), "runs": measured,
                     "measured_ms": m, "simulated_ms": s, "overlap": overlap})
    return rows


def scale_from_zero(runs: int = 5, seed: int = 1) -> dict[str, Any]:
    """`docker run` -> first prediction, 2 x `runs` times interleaved: the simulation's path from
    zero replicas (Knative's: the request held while a replica starts on a node with the image)
    is fed the odd runs' cold starts and checked against the even runs' first answers, so that
    the check and its input come from the same hour of this machine."""
    times = [launch.time_docker("device-price-fn:latest")["seconds"] for _ in range(2 * runs)]
    fed, measured = times[0::2], times[1::2]
    replica = inputs.replica("fn")
    replica.cold["node"] = np.array(fed)
    simulated = []
    for i in range(runs * 20):
        fleet = engine.Fleet(traffic.steady(1.0), policies.POLICIES["knative"], replica, seed + i)
        fleet.node_has_image = [True] * len(fleet.node_has_image)  # the image is on the node, as measured
        fleet.serve(np.array([0.0]), 0.0)
        simulated.append(fleet.latencies[0])
    m, s = statistics.median(measured), statistics.median(simulated)
    return {"fed_s": fed, "measured_s": measured, "measured_median_s": m, "simulated_median_s": s,
            "ok": _within(s, m, TOLERANCE)}
