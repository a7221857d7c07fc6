"""What a run costs, as each way of paying bills it, and the figures the bills read, each with its
source and the date it was read (docs/scaling.md prints them as its table of inputs).

A simulation (scripts/fleet/engine.py) records what was used: replica-seconds held and the peak
held, each answer's time on the core, busy periods per instance, cold starts. A bill turns that
into money:

- reserved replicas (`fargate`): every replica held is a task of its requests plus the memory
  Fargate adds, rounded up to a task size; the platform's own pods (OpenFaaS, Knative) too;
- a self-hosted cluster (`cluster`): nodes are paid whether replicas run or not; a replica is a
  share of a node (the larger of its CPU and memory shares) and the cluster is sized for the peak
  held; scaling down saves only the share another workload reuses (`reuse`, 0 by default); the
  platform's pods are always there;
- per-request platforms (`lambda_`, `cloud_run`): their published unit prices on what they meter.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# When and how each figure was last checked: this machine is offline, so a figure is as issue 23 states
# it (2026-12-01), as this project's cost.py had it (2026-11-28), as a stored copy of the vendor's page
# has it, or not re-checked here: check before use.
ISSUE = "2026-12-01, as issue 23 states it"
EARLIER = "2026-11-28, this project's earlier cost.py"
UNCHECKED = "not re-checked here (offline)"
# A copy of the vendor's own page in the workplace's stored pages (its search tool), read on this date.
STORED = "2026-12-01, the stored copy of the vendor's page"
READ = UNCHECKED


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    what: str
    source: str
    read: str = READ


FIGURES: dict[str, Figure] = {
    "fargate_vcpu_hour": Figure(0.04048, "$ per vCPU-hour", "AWS Fargate, Linux/x86, us-east-1, on demand",
                                "aws.amazon.com/fargate/pricing", EARLIER),
    "fargate_gb_hour": Figure(0.004445, "$ per GB-hour", "AWS Fargate, Linux/x86, us-east-1, on demand",
                              "aws.amazon.com/fargate/pricing", EARLIER),
    "fargate_pod_overhead_mb": Figure(256, "MB", "memory EKS on Fargate adds to a pod's requests (Kubernetes "
                                      "components), before rounding up to a task size (1 vCPU needs >= 2 GB)",
                                      "docs.aws.amazon.com/eks/latest/userguide/fargate-pod-configuration.html", ISSUE),
    "node_hour": Figure(0.096, "$ per hour", "a cluster node: EC2 m5.large (2 vCPU, 8 GiB), us-east-1, on demand",
                        "aws.amazon.com/ec2/pricing/on-demand"),
    "node_vcpu": Figure(2, "vCPU", "the node's CPU", "aws.amazon.com/ec2/instance-types/m5"),
    "node_gb": Figure(8, "GiB", "the node's memory", "aws.amazon.com/ec2/instance-types/m5"),
    "lambda_request": Figure(0.20e-6, "$ per request", "AWS Lambda requests: $0.20 per million",
                             "aws.amazon.com/lambda/pricing", ISSUE),
    "lambda_gb_second": Figure(0.0000166667, "$ per GB-second", "AWS Lambda duration, x86, first tier; billed "
                               "per 1 ms; the INIT phase billed since 2025-08-01", "aws.amazon.com/lambda/pricing", ISSUE),
    "lambda_memory_mb": Figure(1769, "MB", "Lambda memory at which a function has one vCPU (the core this "
                               "service was measured on)",
                               "docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html"),
    "lambda_init_s": Figure(1.0, "s", "Lambda's own part of a cold start, added to this process's measured "
                            "start: the top of AWS's published range (\"from under 100 ms to over 1 second\")",
                            "docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html"),
    "cloud_run_vcpu_second": Figure(0.000024, "$ per vCPU-second", "Cloud Run request-based billing, Tier 1, "
                                    "while an instance serves a request (rounded up to 100 ms)",
                                    "cloud.google.com/run/pricing", STORED),
    "cloud_run_gib_second": Figure(0.0000025, "$ per GiB-second", "Cloud Run request-based billing, Tier 1",
                                   "cloud.google.com/run/pricing", STORED),
    "cloud_run_request": Figure(0.40e-6, "$ per request", "Cloud Run requests: $0.40 per million",
                                "cloud.google.com/run/pricing", STORED),
    "cloud_run_memory_gib": Figure(0.5, "GiB", "Cloud Run instance memory (1 vCPU allows 512 MiB to 4 GiB)",
                                   "cloud.google.com/run/docs/configuring/services/cpu"),
    "cloud_run_init_s": Figure(1.0, "s", "Cloud Run's own part of a cold start, added to this process's measured start: "
                               "an assumption (Google publishes no figure), the same as Lambda's", "assumption"),
    "knative_cpu": Figure(0.6, "vCPU", "Knative Serving's core pods' CPU requests (activator 300m, autoscaler, "
                          "controller, webhook 100m each); its networking layer (Kourier, Istio) not counted",
                          "knative/serving config/core/deployments", ISSUE),
    "knative_gb": Figure(0.36, "GiB", "Knative Serving's core pods' memory requests (activator 60Mi, the others "
                         "100Mi each)", "knative/serving config/core/deployments", ISSUE),
    "openfaas_cpu": Figure(0.5, "vCPU", "OpenFaaS CE chart's pods' CPU requests (gateway, provider, Prometheus, "
                           "Alertmanager, NATS, queue-worker)", "openfaas/faas-netes chart values.yaml", ISSUE),
    "openfaas_gb": Figure(1.0, "GiB", "OpenFaaS CE chart's pods' memory requests",
                          "openfaas/faas-netes chart values.yaml", ISSUE),
}
# Fargate task sizes: vCPU -> the memory (GB) it allows (docs.aws.amazon.com/AmazonECS/latest/developerguide/
# fargate-tasks-services.html#fargate-tasks-size, the same table EKS on Fargate rounds up to).
FARGATE_SIZES: tuple[tuple[float, tuple[float, ...]], ...] = (
    (0.25, (0.5, 1.0, 2.0)), (0.5, tuple(float(g) for g in range(1, 5))), (1.0, tuple(float(g) for g in range(2, 9))),
    (2.0, tuple(float(g) for g in range(4, 17))), (4.0, tuple(float(g) for g in range(8, 31))),
    (8.0, tuple(float(g) for g in range(16, 61, 4))), (16.0, tuple(float(g) for g in range(32, 121, 8))))
PLATFORM = {"openfaas_ce": "openfaas", "openfaas_pro": "openfaas", "knative": "knative"}


def f(name: str) -> float:
    return FIGURES[name].value


def fargate_task(vcpu: float, memory_gb: float) -> tuple[float, float]:
    """The Fargate task size a pod requesting `vcpu` and `memory_gb` runs on: the requests plus
    Fargate's overhead, rounded up to the smallest size that holds both."""
    memory = memory_gb + f("fargate_pod_overhead_mb") / 1024
    for size, memories in FARGATE_SIZES:
        if size + 1e-9 >= vcpu:
            fitting = [m for m in memories if m + 1e-9 >= memory]
            if fitting:
                return size, fitting[0]
    raise ValueError(f"no Fargate task size holds {vcpu} vCPU and {memory:.2f} GB")


def fargate_hour(vcpu: float, memory_gb: float) -> float:
    size, memory = fargate_task(vcpu, memory_gb)
    return size * f("fargate_vcpu_hour") + memory * f("fargate_gb_hour")


def node_share(vcpu: float, memory_gb: float) -> float:
    return max(vcpu / f("node_vcpu"), memory_gb / f("node_gb"))


@dataclass
class Result:
    model: str  # "request-level" or "aggregate"
    traffic: str
    mean_rate: float
    policy: str
    image: str
    horizon_s: float  # seconds counted (after any warm-up)
    requests: int
    answered: int
    dropped: int  # waited longer than the timeout
    cold_waits: int  # waited for a replica to start
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    replica_seconds: float
    gb_seconds: float
    mean_replicas: float
    refused: int = 0  # 429: the replica already held max_inflight
    peak_replicas: int = 0
    busy_seconds: float = 0.0  # time on the replicas' cores
    billed_request_ms: int = 0  # per answer, rounded up to 1 ms (Lambda's meter)
    billed_busy_seconds: float = 0.0  # busy periods per instance rounded up to 100 ms (Cloud Run's)
    init_seconds: float = 0.0  # cold starts
    memory_gb: float = 0.0  # one replica's memory request
    vcpu: float = 1.0  # one replica's CPU request
    platform_cpu_seconds: float = 0.0  # the platform's CPU spent on these requests (the OpenFaaS gateway's hop)
    cap_bound: bool = False  # the replica cap bound: too few replicas allowed; not priced
    bills: dict[str, float] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.dropped + self.refused

    @property
    def cold_share(self) -> float:
        return self.cold_waits / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cold_share": self.cold_share, "lost": self.lost}


def bills(r: Result, kind: str, reuse: float = 0.0) -> dict[str, float]:
    """Every bill that applies to a run of a policy of `kind` (policies.Policy.kind)."""
    if kind == "managed serverless":
        if r.policy == "lambda":
            gb = f("lambda_memory_mb") / 1024
            return {"lambda": r.answered * f("lambda_request")
                    + (r.billed_request_ms / 1000 + r.init_seconds) * gb * f("lambda_gb_second")}
        per_second = r.vcpu * f("cloud_run_vcpu_second") + f("cloud_run_memory_gib") * f("cloud_run_gib_second")
        return {"cloud_run": r.answered * f("cloud_run_request") + (r.billed_busy_seconds + r.init_seconds) * per_second}
    platform = PLATFORM.get(r.policy)
    p_cpu, p_gb = (f(f"{platform}_cpu"), f(f"{platform}_gb")) if platform else (0.0, 0.0)
    fargate = r.replica_seconds * fargate_hour(r.vcpu, r.memory_gb) / 3600
    if platform:  # its pods, and the CPU its gateway spends per request (as gateway replicas scaled to it)
        fargate += r.horizon_s * fargate_hour(p_cpu, p_gb) / 3600 + r.platform_cpu_seconds * f("fargate_vcpu_hour") / 3600
    share = node_share(r.vcpu, r.memory_gb)
    held = (1 - reuse) * r.peak_replicas * r.horizon_s + reuse * r.replica_seconds
    cluster = f("node_hour") / 3600 * (share * held + node_share(p_cpu, p_gb) * r.horizon_s
                                      + r.platform_cpu_seconds / f("node_vcpu"))
    return {"fargate": fargate, "cluster": cluster}


def per_million(r: dict[str, Any], bill: str) -> float:
    """Dollars per million answered requests under `bill`; not priced (inf) when the cap bound or
    nothing was answered."""
    if r.get("cap_bound") or not r["answered"] or bill not in r["bills"]:
        return math.inf
    return r["bills"][bill] / r["answered"] * 1e6
