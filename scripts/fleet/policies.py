"""The scaling policies, with the parameters the engines document: one table, read by the
simulation and held equal to the deploy files by tests (stack.yml's labels, the server's
HorizontalPodAutoscaler, the Knative Service's annotations).

A policy turns what it observed over its window into a desired replica count; the engine
(scripts/fleet/engine.py) and the aggregate model (scripts/fleet/aggregate.py) call the same
`desired()` every `tick` seconds, so both simulate one behaviour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Observed:
    """What an autoscaler sees at a tick, over its window."""

    now: float
    rate: float  # successful requests per second over the window
    concurrency: float  # average requests in the system (waiting or served) over the window
    utilization: float  # share of the serving replicas' time spent serving (their CPU use) over the window
    ready: int  # replicas serving
    total: int  # replicas serving or starting
    idle_for: float  # seconds since the last request arrived


@dataclass
class Policy:
    name: str
    label: str  # as charts and tables name it
    engine: str  # what runs it
    tick: float  # seconds between decisions
    min_replicas: int
    max_replicas: int
    source: str  # where the parameters come from
    params: dict[str, Any] = field(default_factory=dict)

    def desired(self, seen: Observed, state: dict[str, Any]) -> int:
        """The replica count wanted now; `state` is the policy's memory between ticks."""
        return _RULES[self.name](self, seen, state)


def _fixed(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    return p.min_replicas


def _openfaas_ce(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # The alert fires once the per-replica rate has stayed above the threshold for `for_seconds`;
    # each firing tick adds 20% of max (at least one); when it clears, back to min.
    per_replica = seen.rate / max(seen.ready, 1)
    if per_replica > p.params["rate_per_replica"]:
        state.setdefault("pending_since", seen.now)
        if seen.now - state["pending_since"] >= p.params["for_seconds"]:
            step = max(1, math.ceil(p.params["step_fraction"] * p.max_replicas))
            return min(p.max_replicas, seen.total + step)
        return seen.total
    state.pop("pending_since", None)
    return p.min_replicas


def _openfaas_pro(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # Capacity mode: in-flight requests per replica against target x proportion; to zero after
    # the idle time; from zero on the first request (the gateway holds it meanwhile).
    if seen.idle_for >= p.params["zero_after_seconds"] or (seen.total == 0 and not seen.concurrency):
        return 0  # idle long enough, or at zero with nothing asked: a request wakes it
    wanted = math.ceil(seen.concurrency / (p.params["target"] * p.params["target_proportion"]))
    return max(1, min(p.max_replicas, wanted))


def _knative(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # KPA: concurrency per pod against target x utilisation, averaged over the stable window, or
    # over the panic window when that asks for panic_threshold times the pods there are (panic
    # mode: never scale down until the stable window has passed); to zero after the grace period.
    history = state.setdefault("history", [])
    history.append((seen.now, seen.concurrency))
    stable, panic = p.params["stable_window"], p.params["stable_window"] * p.params["panic_window_fraction"]
    while history and history[0][0] < seen.now - stable:
        history.pop(0)
    per_pod = p.params["target"] * p.params["utilization"]

    def average(window: float) -> float:
        values = [c for t, c in history if t > seen.now - window]
        return sum(values) / len(values) if values else 0.0

    want_stable = math.ceil(average(stable) / per_pod)
    want_panic = math.ceil(average(panic) / per_pod)
    if seen.ready and want_panic >= p.params["panic_threshold"] * seen.ready:
        state["panic_until"] = seen.now + stable
    wanted = max(want_stable, want_panic) if seen.now < state.get("panic_until", -1) else want_stable
    if seen.now < state.get("panic_until", -1):
        wanted = max(wanted, seen.total)
    if wanted == 0 and seen.total and seen.idle_for < p.params["scale_to_zero_grace"]:
        wanted = 1  # the grace period before scaling to zero
    wanted = min(wanted, math.ceil(max(seen.total, 1) * p.params["max_scale_up_rate"]))
    wanted = max(wanted, math.floor(seen.total / p.params["max_scale_down_rate"]))
    return max(p.min_replicas, min(p.max_replicas, wanted))


def _hpa_cpu(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # desired = ceil(current x utilisation / target), held at the highest recommendation of the
    # scale-down stabilisation window.
    wanted = math.ceil(seen.ready * seen.utilization / p.params["cpu_target"]) if seen.ready else seen.total
    wanted = max(p.min_replicas, min(p.max_replicas, wanted))
    recent = state.setdefault("recommendations", [])
    recent.append((seen.now, wanted))
    while recent and recent[0][0] < seen.now - p.params["scale_down_stabilization"]:
        recent.pop(0)
    return max(w for _, w in recent)


_RULES = {"fixed": _fixed, "openfaas_ce": _openfaas_ce, "openfaas_pro": _openfaas_pro, "knative": _knative,
          "hpa_cpu": _hpa_cpu}

# The table. The deploy files state the same values (tests/test_scaling.py holds them equal).
POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("openfaas_ce", "OpenFaaS CE", "OpenFaaS CE (faas-netes, Prometheus alert)", 5.0, 1, 5,
           "OpenFaaS docs, autoscaling (CE): com.openfaas.scale.min 1, max 5 (CE's cap), the APIHighInvocationRate "
           "alert: > 5 req/s per replica over 10 s, for 5 s; each firing adds 20% of max; cleared: back to min",
           {"rate_per_replica": 5.0, "window": 10.0, "for_seconds": 5.0, "step_fraction": 0.2}),
    Policy("openfaas_pro", "OpenFaaS Pro, scale to zero", "OpenFaaS Pro (capacity mode)", 5.0, 0, 20,
           "OpenFaaS docs, autoscaling (Pro): com.openfaas.scale.type capacity, target 8 in flight per replica "
           "(this service answers one at a time), target-proportion 0.9, scale.zero true, zero-duration 15m",
           {"target": 8, "target_proportion": 0.9, "zero_after_seconds": 900.0, "window": 10.0}),
    Policy("knative", "Knative KPA", "Knative Serving (KPA)", 2.0, 0, 20,
           "Knative config-autoscaler defaults (../shared/schemas/README.md): target 100 x 70%, stable window "
           "60 s, panic window 10% (6 s) at 200%, scale-to-zero grace 30 s, max scale-up rate 1000, "
           "max scale-down rate 2; the activator buffers requests while pods start",
           {"target": 100, "utilization": 0.7, "stable_window": 60.0, "panic_window_fraction": 0.1,
            "panic_threshold": 2.0, "scale_to_zero_grace": 30.0, "max_scale_up_rate": 1000.0,
            "max_scale_down_rate": 2.0, "container_concurrency": 0, "window": 2.0}),
    Policy("hpa_cpu", "Kubernetes HPA (CPU), server", "Kubernetes HorizontalPodAutoscaler on the server Deployment",
           15.0, 2, 10,
           "Kubernetes docs, HorizontalPodAutoscaler: 15 s sync period, 300 s scale-down stabilisation; target "
           "CPU 70%, 2 to 10 replicas (this project's choice, deploy/k8s/server.yaml)",
           {"cpu_target": 0.7, "scale_down_stabilization": 300.0, "window": 15.0}),
    Policy("fixed", "fixed fleet (2)", "a fixed Deployment", 60.0, 2, 2, "this project's choice: 2 replicas",
           {"window": 60.0}),
)}
