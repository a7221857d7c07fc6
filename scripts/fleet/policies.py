"""The scaling policies, with the parameters the engines document: one table, read by the
simulation and held equal to the deploy files by tests (stack.yml's labels and environment, the
server's HorizontalPodAutoscaler and CPU request, the Knative Service's annotations).

A policy turns what it observed over its window into a desired replica count; the engine
(scripts/fleet/engine.py) calls `desired()` every `tick` seconds.

Where requests wait matters as much as the rule: a replica of this service answers one request at
a time and refuses with 429 past `max_inflight` (stack.yml, deploy/). Where a platform forwards
every request to a pod (OpenFaaS, a Kubernetes Service, Knative with containerConcurrency 0), the
queue is in the pod and is bounded by max_inflight, so a per-pod target above max_inflight is never
seen and never scales; where the platform holds requests itself (Knative's activator with a
containerConcurrency, Cloud Run's front end, Lambda starting an environment per concurrent
request), the pod sees at most its concurrency. `reachable()` states the rule a test holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scripts.fleet.prices import f

MAX_INFLIGHT = 64  # stack.yml, deploy/knative/service.yaml, deploy/k8s/server.yaml (tests hold them equal)
CPU_REQUEST = 1.0  # vCPU each replica requests: the one core it was measured on (deploy files, billed size)
MEMORY_REQUEST_MB = 64.0  # the slim image's memory request (deploy files); TensorFlow's is sized from its use


@dataclass(frozen=True)
class Observed:
    """What an autoscaler sees at a tick, over its window."""

    now: float
    rate: float  # successful requests per second over the window
    concurrency: float  # average requests in the system (waiting or served) over the window
    utilization: float  # share of the serving replicas' CPU request spent serving over the window, <= 1
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
    kind: str = "self-hosted serverless"  # or "managed serverless", "server"
    hard_cap: bool = False  # max_replicas is the product's limit (CE) or an account quota, not a choice

    def desired(self, seen: Observed, state: dict[str, Any]) -> int:
        """The replica count wanted now; `state` is the policy's memory between ticks."""
        return _RULES[self.name](self, seen, state)

    @property
    def inflight_limit(self) -> int | None:
        """Requests a replica holds before it refuses (429): max_inflight where the platform
        forwards everything to the pod; None where the platform holds the queue itself."""
        if self.params.get("container_concurrency", 0) or self.params.get("platform_queues"):
            return None
        return int(self.params.get("max_inflight", MAX_INFLIGHT))

    def reachable(self, capacity_rps: float) -> bool:
        """One replica can carry the load at which the policy asks for a second, before it refuses
        (429 past max_inflight, or the platform's per-pod concurrency) or its one core runs out."""
        p = self.params
        if self.name in ("knative", "openfaas_pro"):
            share = p["utilization"] if self.name == "knative" else p["target_proportion"]
            if p.get("metric", "concurrency") == "rps":
                return p["target"] * share < capacity_rps
            in_flight = p["target"] * share  # requests in flight (served or queued) at the pod
            cc = p.get("container_concurrency", 0)
            return in_flight <= cc if cc else in_flight < (self.inflight_limit or math.inf)
        if "cpu_target" in p:  # one worker uses at most one core of its request
            return p["cpu_target"] * p["cpu_request"] < 1.0
        if self.name == "openfaas_ce":  # a total rate: one replica must answer it
            return p["rate_threshold"] < capacity_rps
        return True  # fixed (never scales) and Lambda (one request per environment by construction)


def _fixed(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    return p.min_replicas


def _openfaas_ce(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # faas-netes's chart: Prometheus evaluates every evaluation_interval whether the function's
    # TOTAL rate over the last 10 s is above 5 req/s; true for `for_seconds`, the alert fires;
    # Alertmanager sends it after group_wait and again every repeat_interval while it fires, and
    # each notification makes the gateway add ceil(scale.factor x max) replicas; resolved, back to min.
    p_ = p.params
    if seen.now + 1e-9 >= state.get("next_eval", 0.0):
        state["next_eval"] = seen.now + p_["evaluation_interval"]
        if seen.rate > p_["rate_threshold"]:
            state.setdefault("pending_since", seen.now)
            if "firing_at" not in state and seen.now - state["pending_since"] >= p_["for_seconds"]:
                state["firing_at"] = seen.now
                state["notify_at"] = seen.now + p_["group_wait"]
        else:
            state.pop("pending_since", None)
            if state.pop("firing_at", None) is not None:
                state.pop("notify_at", None)
                state["resolve_at"] = seen.now + p_["group_interval"]
    if "resolve_at" in state and seen.now + 1e-9 >= state["resolve_at"]:
        del state["resolve_at"]
        return p.min_replicas
    if "notify_at" in state and seen.now + 1e-9 >= state["notify_at"]:
        state["notify_at"] += p_["repeat_interval"]
        step = max(1, math.ceil(p_["step_fraction"] * p.max_replicas))
        return min(p.max_replicas, seen.total + step)
    return max(seen.total, p.min_replicas)


def _openfaas_pro(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # Capacity mode: in-flight requests per replica against target x proportion; to zero after
    # the idle time; from zero on the first request (the gateway holds it meanwhile).
    if seen.idle_for >= p.params["zero_after_seconds"] or (seen.total == 0 and not seen.concurrency):
        return 0  # idle long enough, or at zero with nothing asked: a request wakes it
    wanted = math.ceil(seen.concurrency / (p.params["target"] * p.params["target_proportion"]) - 1e-9)
    return max(1, min(p.max_replicas, wanted))


def _knative(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # KPA: the metric per pod against target x utilisation, averaged over the stable window, or
    # over the panic window when that asks for panic_threshold times the pods there are (panic
    # mode: never scale down until the stable window has passed); to zero after the grace period.
    history = state.setdefault("history", [])
    metric = seen.concurrency if p.params["metric"] == "concurrency" else seen.rate
    history.append((seen.now, metric))
    stable, panic = p.params["stable_window"], p.params["stable_window"] * p.params["panic_window_fraction"]
    while history and history[0][0] < seen.now - stable:
        history.pop(0)
    per_pod = p.params["target"] * p.params["utilization"]

    def average(window: float) -> float:
        values = [c for t, c in history if t > seen.now - window]
        return sum(values) / len(values) if values else 0.0

    want_stable = math.ceil(average(stable) / per_pod - 1e-9)
    want_panic = math.ceil(average(panic) / per_pod - 1e-9)
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
    # desired = ceil(current x utilisation / target), utilisation a share of the pod's CPU
    # request; held at the highest recommendation of the scale-down stabilisation window.
    wanted = math.ceil(seen.ready * seen.utilization / p.params["cpu_target"] - 1e-9) if seen.ready else seen.total
    wanted = max(p.min_replicas, min(p.max_replicas, wanted))
    recent = state.setdefault("recommendations", [])
    recent.append((seen.now, wanted))
    while recent and recent[0][0] < seen.now - p.params["scale_down_stabilization"]:
        recent.pop(0)
    return max(w for _, w in recent)


def _cloud_run(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # Cloud Run: instances for CPU at 60% and for 60% of the maximum concurrency, averaged over a
    # minute; idle instances are kept (unbilled under request-based billing) up to 15 minutes.
    if seen.idle_for >= p.params["idle_keep_seconds"] or (seen.total == 0 and not seen.concurrency):
        return p.min_replicas
    for_cpu = seen.ready * seen.utilization / p.params["cpu_target"]
    for_concurrency = seen.concurrency / (p.params["concurrency"] * p.params["concurrency_target"])
    wanted = max(1, math.ceil(max(for_cpu, for_concurrency) - 1e-9))
    if wanted < seen.total and seen.idle_for < p.params["idle_keep_seconds"]:
        wanted = max(wanted, seen.total - 1)  # scales in gently: one idle instance at a time
    return max(p.min_replicas, min(p.max_replicas, wanted))


def _lambda(p: Policy, seen: Observed, state: dict[str, Any]) -> int:
    # Lambda has no autoscaler to simulate: the engine starts an environment for each request that
    # finds none free (429 past the quota or the scaling rate) and reclaims environments idle for
    # keep_warm_seconds beyond the provisioned ones (engine.Fleet).
    return seen.total


_RULES = {"fixed": _fixed, "openfaas_ce": _openfaas_ce, "openfaas_pro": _openfaas_pro, "knative": _knative,
          "hpa_cpu": _hpa_cpu, "cloud_run": _cloud_run, "cloud_run_min": _cloud_run, "lambda": _lambda,
          "lambda_pc": _lambda}
LAMBDA_SOURCE = ("AWS Lambda docs: one request per execution environment at a time, a new environment (a cold start) "
                 "for a request that finds none free; past the account's concurrency quota (an input: 1,000 by "
                 "default, shared by every function in the region) or the scaling rate (1,000 environments per 10 s "
                 "per function) the request gets 429; idle environments reclaimed after keep_warm_seconds (not "
                 "documented by AWS: an input)")
CLOUD_RUN_SOURCE = ("Cloud Run docs (about instance autoscaling, concurrency): scales for 60% CPU and 60% of the maximum "
                    "concurrency over a minute; concurrency 1, as Google advises for a container that serves one "
                    "request at a time (and as the Knative Service has it); idle instances kept up to 15 minutes; max "
                    "instances 100 by default (a choice: raised where the load needs more)")

# The table. The deploy files state the same values (tests/test_scaling.py holds them equal).
POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("openfaas_ce", "OpenFaaS CE", "OpenFaaS CE (faas-netes, Prometheus alert)", 5.0, 1, 5,
           "faas-netes chart (templates/prometheus-cfg.yaml, read 2026-12-01 through the code search; "
           "alertmanager-cfg.yaml's intervals as issue 23 states them): the "
           "APIHighInvocationRate alert, sum(rate(gateway_function_invocation_total{code=\"200\"}[10s])) BY "
           "(function_name) > 5, for 5s, evaluated every 15 s; Alertmanager group_wait 5s, group_interval 10s, "
           "repeat_interval 30s; each notification adds 20% of com.openfaas.scale.max (5, CE's cap: the most CE "
           "allows a function, so it cannot be raised); resolved: back to com.openfaas.scale.min (1)",
           {"rate_threshold": 5.0, "window": 10.0, "for_seconds": 5.0, "evaluation_interval": 15.0,
            "group_wait": 5.0, "group_interval": 10.0, "repeat_interval": 30.0, "step_fraction": 0.2,
            "max_inflight": MAX_INFLIGHT}, hard_cap=True),
    Policy("openfaas_pro", "OpenFaaS Pro, scale to zero", "OpenFaaS Pro (capacity mode)", 5.0, 0, 5,
           "OpenFaaS docs, autoscaling (Pro): com.openfaas.scale.type capacity, target 1 in flight per replica "
           "(this service answers one at a time) x target-proportion 0.7, scale.zero true, zero-duration 15m, "
           "scale.max 5 (stack.yml's labels, which Pro reads as CE does)",
           {"target": 1, "target_proportion": 0.7, "zero_after_seconds": 900.0, "window": 10.0,
            "max_inflight": MAX_INFLIGHT}),
    Policy("knative", "Knative KPA", "Knative Serving (KPA)", 2.0, 0, 20,
           "deploy/knative/service.yaml: containerConcurrency 1 (one request at a time; the activator holds the "
           "rest), metric concurrency, target 1 x 70% = 0.7 in flight per pod; Knative config-autoscaler "
           "defaults (../shared/schemas/README.md, knative/serving 98e5ef90, 2026-08-21): stable window 60 s, "
           "panic window 10% (6 s) at 200%, scale-to-zero grace 30 s, max scale-up rate 1000, max scale-down "
           "rate 2; so an idle revision goes to zero once its stable window (60 s) has seen no request",
           {"metric": "concurrency", "target": 1, "utilization": 0.7, "stable_window": 60.0,
            "panic_window_fraction": 0.1, "panic_threshold": 2.0, "scale_to_zero_grace": 30.0,
            "max_scale_up_rate": 1000.0, "max_scale_down_rate": 2.0, "container_concurrency": 1, "window": 2.0,
            "max_inflight": MAX_INFLIGHT}),
    Policy("hpa_cpu", "Kubernetes HPA (CPU), server", "Kubernetes HorizontalPodAutoscaler on the server Deployment",
           15.0, 2, 10,
           "Kubernetes docs, HorizontalPodAutoscaler: 15 s sync period, 300 s scale-down stabilisation; target "
           "CPU 70% of the pod's request of 1 vCPU, 2 to 10 replicas (this project's choice, deploy/k8s/server.yaml)",
           {"cpu_target": 0.7, "cpu_request": CPU_REQUEST, "scale_down_stabilization": 300.0, "window": 15.0,
            "max_inflight": MAX_INFLIGHT}, kind="server"),
    Policy("fixed", "fixed fleet (2)", "a fixed Deployment", 60.0, 2, 2, "this project's choice: 2 replicas",
           {"window": 60.0, "max_inflight": MAX_INFLIGHT}, kind="server"),
    Policy("lambda", "AWS Lambda", "AWS Lambda (container image)", 5.0, 0, int(f("lambda_quota")), LAMBDA_SOURCE,
           {"platform_queues": True, "keep_warm_seconds": f("lambda_keep_warm_s"), "window": 5.0, "cold": "lambda",
            "scaling_per_10s": f("lambda_scaling_per_10s")}, kind="managed serverless", hard_cap=True),
    Policy("lambda_pc", "AWS Lambda, provisioned concurrency", "AWS Lambda with provisioned concurrency", 5.0, 1,
           int(f("lambda_quota")), LAMBDA_SOURCE + "; min_replicas environments provisioned (initialised, never "
           "reclaimed), sized to the load", {"platform_queues": True, "keep_warm_seconds": f("lambda_keep_warm_s"),
                                             "window": 5.0, "cold": "lambda",
                                             "scaling_per_10s": f("lambda_scaling_per_10s")},
           kind="managed serverless", hard_cap=True),
    Policy("cloud_run", "Google Cloud Run", "Google Cloud Run", 2.0, 0, 100, CLOUD_RUN_SOURCE,
           {"platform_queues": True, "cpu_target": 0.6, "cpu_request": CPU_REQUEST, "concurrency": 1,
            "concurrency_target": 0.6, "idle_keep_seconds": 900.0, "window": 60.0, "cold": "cloud_run"},
           kind="managed serverless"),
    Policy("cloud_run_min", "Google Cloud Run, min-instances 1", "Google Cloud Run, one instance kept", 2.0, 1, 100,
           CLOUD_RUN_SOURCE + "; min-instances 1, billed instance-based",
           {"platform_queues": True, "cpu_target": 0.6, "cpu_request": CPU_REQUEST, "concurrency": 1,
            "concurrency_target": 0.6, "idle_keep_seconds": 900.0, "window": 60.0, "cold": "cloud_run"},
           kind="managed serverless"),
)}
