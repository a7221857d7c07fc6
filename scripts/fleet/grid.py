"""The measuring step: every simulation `make simulate` runs, into docs/bench/simulation.json
(scripts/fleet/report.py renders it).

Every row is request-level (scripts/fleet/engine.py). Fleets are sized to the load: a cap that is
a choice of this project's deploy files is raised for the run (to what the peak needs, with 50%
headroom, as a deployment sized to the load would set it), and the row says how many replicas
the load needed against that cap (`cap_binds`), priced at that size; a cap that cannot be raised
(OpenFaaS CE's five replicas, Lambda's account quota) is simulated as it is, and its 429s and
drops are counted. Steady-state rows start warm at the size the load needs (a warm-up simulated
and not counted); start-up is its own scenario. Self-hosted and server rows run on Fargate: every
replica start is a new pod. The sensitivity sweep reruns the per-rate grid with one input moved.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np

from scripts.fleet import coldstarts, cost, engine, inputs, policies, prices, traffic
from scripts.fleet.cost import Result

SIMULATION = inputs.BENCH / "simulation.json"
RATES = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
GAPS = (10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)  # seconds between requests, on average
STEPS = (100.0, 1000.0)  # req/s of the start-up scenario's step
SHAPE_RATE = 10.0
YEAR_RATE = 100.0
DAYS = 365
IMAGES = ("tflite", "tensorflow")
GRID = tuple(name for name in policies.POLICIES if name != "fixed")  # the fixed fleet is the server Deployment
SCALE_TO_ZERO = ("openfaas_pro", "knative", "lambda", "cloud_run")
LOST_SHARE = 0.01
TARGET_UTILISATION = 0.7  # a steady run starts with the replicas the load needs at this utilisation
HEADROOM = 1.5  # a raised cap: the replicas the peak needs, times this
LAMBDA = ("lambda", "lambda_pc")
# The sensitivity sweep: one input moved at a time, the per-rate grid rerun (bill-level inputs, the
# front door and the fixed costs, are moved by scripts/fleet/decide.py on the same rows).
SWEEP: dict[str, tuple[dict[str, float], tuple[str, ...], tuple[float, ...]]] = {
    "cold starts x0.5": ({"init_scale": 0.5}, GRID, RATES[:-1]),
    "cold starts x2": ({"init_scale": 2.0}, GRID, RATES[:-1]),
    # how long an idle environment is kept matters only where requests are sparse
    "Lambda keep-warm 5 min": ({"keep_scale": 0.5}, LAMBDA, RATES[:5]),
    "Lambda keep-warm 30 min": ({"keep_scale": 3.0}, LAMBDA, RATES[:5]),
    # the quota binds only where many requests are in flight at once
    "Lambda quota 100 left to this function": ({"quota": 100}, LAMBDA, RATES[4:]),
    "Lambda quota raised to 10,000": ({"quota": 10_000}, LAMBDA, RATES[4:]),
}


def warmup(rate: float, scale: float = 1.0) -> float:
    return (300.0 if rate < 5000 else 120.0) * scale


def horizon(rate: float, scale: float = 1.0) -> float:
    """Long enough for a few hundred requests at low rates (at most a week), an hour at 1 to 100
    req/s, shorter at the top rates (millions of requests either way); `scale` shortens all."""
    if rate < 1:
        return min(7 * traffic.DAY, max(3600.0, 300 / rate)) * scale
    return (3600.0 if rate <= 100 else 600.0 if rate <= 1000 else 120.0) * scale


def kind_of(image: str, policy: policies.Policy) -> str:
    return inputs.IMAGES[image]["server" if policy.kind == "server" else "function"]


def sized(policy: policies.Policy, replica: inputs.Replica, rate: float, quota: float | None = None,
          peak: float | None = None) -> tuple[policies.Policy, int]:
    """The policy with a raisable cap raised to what the peak needs with HEADROOM, as a deployment
    sized to the load would set it (or Lambda's quota as given), and the replicas a steady run starts
    with: those the mean rate needs (Lambda's provisioned ones for provisioned concurrency)."""
    def needs(x: float) -> int:
        return max(1, math.ceil(x / (replica.capacity * TARGET_UTILISATION)))

    needed = needs(rate)
    changes: dict[str, Any] = {}
    if not policy.hard_cap:
        changes["max_replicas"] = max(policy.max_replicas, math.ceil(HEADROOM * needs(peak or rate)))
    if quota and policy.name in LAMBDA:
        changes["max_replicas"] = int(quota)
    if policy.name == "lambda_pc":  # environments to hold the mean concurrency twice over
        changes["min_replicas"] = min(changes.get("max_replicas", policy.max_replicas),
                                      max(1, math.ceil(2 * rate * float(replica.service.mean()))))
    return dataclasses.replace(policy, **changes), needed


def hop(policy: policies.Policy, gateway: inputs.Gateway | None) -> dict[str, float]:
    """The OpenFaaS gateway's measured added latency and CPU per request, for the OpenFaaS rows."""
    if gateway is None or not policy.name.startswith("openfaas"):
        return {}
    return {"hop": gateway.added_s, "hop_p99": gateway.added_p99_s, "hop_cpu": gateway.cpu_s}


def row(result: Result, policy: policies.Policy, deploy_cap: int, reuse: float) -> dict[str, Any]:
    """A result with its cap's verdict and every bill that applies: `deploy_cap` is the deploy
    file's, or, for a cap that cannot be raised, the one in force (Lambda's quota as swept)."""
    if policy.hard_cap:
        deploy_cap = policy.max_replicas
    result.cap = deploy_cap
    if policy.hard_cap:  # at the cap and losing requests (or not simulated: the cap cannot carry the load)
        result.cap_binds = result.cap_binds or (result.peak_replicas >= deploy_cap
                                                and result.lost > LOST_SHARE * max(result.requests, 1))
    else:
        result.cap_binds = result.peak_replicas > deploy_cap
    result.bills = cost.bills(result, policy.kind, reuse)
    out = result.as_dict()
    out["kind"] = policy.kind
    return out


def _unsimulated(shape: traffic.Traffic, policy: policies.Policy, replica: inputs.Replica, span: float) -> Result:
    return Result("not simulated: the cap binds", shape.name, shape.mean, policy.name, replica.kind, span, 0, 0, 0, 0,
                  math.nan, math.nan, math.nan, math.nan, 0.0, 0.0, 0.0, memory_gb=replica.memory_gb,
                  vcpu=replica.vcpu, cap=policy.max_replicas, cap_binds=True, hard_cap=True)


def steady(shape: traffic.Traffic, name: str, replica: inputs.Replica, span: float, peak_rate: float,
           reuse: float = 0.0, seed: int = 1, span_scale: float = 1.0,
           init_scale: float = 1.0, keep_scale: float = 1.0, quota: float | None = None,
           gateway: inputs.Gateway | None = None) -> dict[str, Any]:
    base = policies.POLICIES[name]
    policy, needed = sized(base, replica, shape.mean, quota, peak_rate)
    if policy.hard_cap and name not in LAMBDA and peak_rate >= 0.95 * policy.max_replicas * replica.capacity:
        return row(_unsimulated(shape, policy, replica, span), policy, base.max_replicas, reuse)
    result = engine.simulate(shape, policy, replica, span, seed, warmup=warmup(peak_rate, span_scale),
                             image_on_nodes=True, fargate=policy.kind != "managed serverless", initial=needed,
                             init_scale=init_scale, keep_scale=keep_scale, **hop(policy, gateway))
    return row(result, policy, base.max_replicas, reuse)


def startup(rate: float, name: str, replica: inputs.Replica, reuse: float = 0.0, idle: float = 60.0,
            span: float = 300.0, gateway: inputs.Gateway | None = None) -> dict[str, Any]:
    """Idle for `idle` seconds, then `rate` at once, from the policy's minimum on Fargate (a new pod
    per start) or per request: the first answer, the waits, the replicas over time."""
    base = policies.POLICIES[name]
    policy, _ = sized(base, replica, rate)
    step = traffic.Traffic(f"step to {rate:g} req/s", rate, lambda t: rate if t >= idle else 0.0)
    if policy.hard_cap and name not in LAMBDA and rate >= 0.95 * policy.max_replicas * replica.capacity:
        return row(_unsimulated(step, policy, replica, span), policy, base.max_replicas, reuse)
    fleet = engine.Fleet(step, policy, replica, 1, fargate=policy.kind != "managed serverless", timeline=True,
                         keep=True, **hop(policy, gateway))
    out = row(fleet.run(idle + span), policy, base.max_replicas, reuse)
    first = min(((a + r) for a, r in fleet.kept), default=math.nan)
    out.update(first_answer_s=first - idle, replicas_at={
        f"{t:g}": next((n for at, n, _ in fleet.timeline if at >= idle + t), 0) for t in (5.0, 30.0, 120.0)})
    return out


def _job(spec: tuple, replicas: dict[str, inputs.Replica], reuse: float, span_scale: float,
         gateway: inputs.Gateway | None) -> dict[str, Any]:
    """One simulation, from a description that pickles (traffic shapes hold closures)."""
    if spec[0] == "startup":
        _, rate, name, kind = spec
        return startup(rate, name, replicas[kind], reuse, gateway=gateway)
    shape, mean, name, kind, span, peak, moved = spec
    make = {**traffic.SHAPES, "steady": traffic.steady, "diurnal": traffic.diurnal}[shape]
    return steady(make(mean), name, replicas[kind], span, peak, reuse, span_scale=span_scale, gateway=gateway, **moved)


def jobs(span_scale: float = 1.0) -> list[tuple[str, tuple]]:
    out: list[tuple[str, tuple]] = []
    year_peak = _peak(traffic.diurnal(YEAR_RATE), traffic.DAY)
    for image in IMAGES:
        for name in GRID:
            kind = kind_of(image, policies.POLICIES[name])
            for rate in RATES:
                out.append(("rates", ("steady", rate, name, kind, horizon(rate, span_scale), rate, {})))
            for shape, make in traffic.SHAPES.items():
                span = (traffic.DAY if shape == "diurnal" else 3600.0) * span_scale
                out.append(("shapes", (shape, SHAPE_RATE, name, kind, span, _peak(make(SHAPE_RATE), span), {})))
            for rate in STEPS:
                out.append(("startup", ("startup", rate, name, kind)))
            if name in SCALE_TO_ZERO:
                for gap in GAPS:
                    out.append(("gaps", ("steady", 1 / gap, name, kind, 300 * gap * span_scale, 1 / gap, {})))
            out.append(("year", ("diurnal", YEAR_RATE, name, kind, traffic.DAY * span_scale, year_peak, {})))
            for variant, (moved, names, rates) in SWEEP.items():
                if name in names:
                    out += [(f"sweep:{variant}", ("steady", rate, name, kind, horizon(rate, span_scale), rate, moved))
                            for rate in rates]
    return out


def run(replicas: dict[str, inputs.Replica], progress: Callable, reuse: float = 0.0, workers: int = 1,
        span_scale: float = 1.0) -> dict[str, list[dict]]:
    """Every job, in `workers` processes, longest first; `span_scale` < 1 shortens every run (to time
    the grid on a loaded machine and extrapolate)."""
    gateway = inputs.gateway()
    todo = sorted(enumerate(jobs(span_scale)), key=lambda j: -j[1][1][-3] * j[1][1][1] if j[1][0] != "startup" else 0)
    results: dict[int, tuple[str, dict]] = {}
    if workers <= 1:
        for i, (group, spec) in progress(todo, "simulations"):
            results[i] = (group, _job(spec, replicas, reuse, span_scale, gateway))
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [(i, group, pool.submit(_job, spec, replicas, reuse, span_scale, gateway))
                       for i, (group, spec) in todo]
            for i, group, future in progress(futures, "simulations"):
                results[i] = (group, future.result())
    out: dict[str, list[dict]] = {}
    for i in sorted(results):
        group, result = results[i]
        out.setdefault(group, []).append(result)
    return out


def reprice(results: dict[str, list[dict]], reuse: float = 0.0) -> dict[str, list[dict]]:
    """Every row's bills again from what it used and the prices now (changed in place): the
    rendering step prices, so a price corrected needs no new simulation."""
    fields = {f.name for f in dataclasses.fields(Result)}
    for rows in results.values():
        for r in rows:
            r["bills"] = cost.bills(Result(**{k: v for k, v in r.items() if k in fields}), r["kind"], reuse)
    return results


def _peak(shape: traffic.Traffic, span: float) -> float:
    return max(shape.rate(t) for t in range(0, int(span), 10))


def summarise_inputs(replicas: dict[str, inputs.Replica]) -> dict[str, Any]:
    return {kind: {"capacity_rps": r.capacity, "unloaded_p50_ms": float(np.median(r.unloaded)) * 1000,
                   "memory_gb": r.memory_gb, "image_gb": r.image_gb,
                   "cold_median_s": {k: float(np.median(v)) for k, v in r.cold.items()},
                   "cold_process_median_s": float(np.median(r.cold_process)),
                   "lambda_duration_s": r.lambda_duration_s, "sources": r.sources}
            for kind, r in replicas.items()}


def document(results: dict[str, list[dict]], validation: dict[str, Any], replicas: dict[str, inputs.Replica],
             reuse: float = 0.0, span_scale: float = 1.0) -> dict[str, Any]:
    platform = {name: coldstarts.openfaas(inputs.BENCH) if name == "openfaas" else coldstarts.lambda_(inputs.BENCH)
                for name in ("openfaas", "lambda")}
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "reuse": reuse, "span_scale": span_scale,
            "gateway": vars(gw) if (gw := inputs.gateway()) else None, "fallbacks": coldstarts.fallbacks(inputs.BENCH),
            "platform_coldstarts": platform,
            "figures": {name: vars(fig) for name, fig in prices.FIGURES.items()},
            "inputs": summarise_inputs(replicas), "results": results, "validation": validation}


def write(data: dict[str, Any]) -> None:
    SIMULATION.write_text(json.dumps(data, indent=1, default=float) + "\n")


def load() -> dict[str, Any]:
    return json.loads(SIMULATION.read_text())
