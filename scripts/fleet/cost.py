"""What a run costs, as each way of paying bills it: the whole bill, from the figures of
scripts/fleet/prices.py.

A simulation (scripts/fleet/engine.py) records what was used: replica-seconds held and the peak
held, replica starts, each answer's time on the core, busy periods per instance, cold starts.
A bill turns that into money:

- `fargate`: every replica held is a pod of its requests (Knative's queue-proxy sidecar included)
  plus the memory Fargate adds, rounded up on its own to a task size; each of the platform's pods
  likewise; the cluster's fixed costs (EKS control plane, CoreDNS, a load balancer, a NAT gateway
  per hour); per request the load balancer's capacity units, the NAT's GB for every image pull, the
  egress; a paid OpenFaaS edition per month. `fargate, fixed shared`: the same where the cluster,
  load balancer and NAT are there anyway (their hourly prices not counted); `fargate, keep-alive`:
  where clients keep their connections (the load balancer billed on bytes, not new connections);
- `cluster`: your own nodes, paid whether replicas run or not, sized for the peak held; scaling
  down saves only the share another workload reuses (`reuse`); the fixed costs as above;
- `lambda` (a function URL, free), `lambda+http`, `lambda+rest` (API Gateway in front), `lambda
  arm64` (its speed there not measured: the same duration); provisioned concurrency billed per
  GB-second provisioned;
- `cloud_run` (request-based), `cloud_run instance-based` (the instance's whole life, no request fee).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from scripts.fleet.prices import KNATIVE_SIDECAR_CPU, PODS, f

HOURS_PER_MONTH = 730.0  # how AWS's pricing pages turn a monthly price into hours
# Fargate task sizes: vCPU -> the memory (GB) it allows (docs.aws.amazon.com/AmazonECS/latest/developerguide/
# fargate-tasks-services.html#fargate-tasks-size, the same table EKS on Fargate rounds up to).
FARGATE_SIZES: tuple[tuple[float, tuple[float, ...]], ...] = (
    (0.25, (0.5, 1.0, 2.0)), (0.5, tuple(float(g) for g in range(1, 5))), (1.0, tuple(float(g) for g in range(2, 9))),
    (2.0, tuple(float(g) for g in range(4, 17))), (4.0, tuple(float(g) for g in range(8, 31))),
    (8.0, tuple(float(g) for g in range(16, 61, 4))), (16.0, tuple(float(g) for g in range(32, 121, 8))))
PLATFORM = {"openfaas_ce": "openfaas", "openfaas_pro": "openfaas", "knative": "knative"}
LICENSED = ("openfaas_ce", "openfaas_pro")
FRONT_DOORS = {"lambda": "function_url_request", "lambda+http": "apigw_http_request",
               "lambda+rest": "apigw_rest_request"}


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


def pods_hour(platform: str) -> float:
    """A platform's pods on Fargate, each rounded up on its own."""
    return sum(fargate_hour(cpu, gb) for _, cpu, gb in PODS.get(platform, ()))


def replica_pod(policy: str, vcpu: float, memory_gb: float) -> tuple[float, float]:
    """What one replica's pod requests: Knative adds its queue-proxy sidecar."""
    return (vcpu + KNATIVE_SIDECAR_CPU if policy == "knative" else vcpu), memory_gb


def node_share(vcpu: float, memory_gb: float) -> float:
    return max(vcpu / f("node_vcpu"), memory_gb / f("node_gb"))


def fixed_hour() -> float:
    """The cluster's costs per hour whatever runs on it: control plane, CoreDNS, load balancer, NAT."""
    return f("eks_cluster_hour") + pods_hour("cluster") + f("alb_hour") + f("nat_hour")


@dataclass
class Result:
    model: str
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
    refused: int = 0  # 429: the replica already held max_inflight, or Lambda's quota or scaling rate
    peak_replicas: int = 0
    busy_seconds: float = 0.0  # time on the replicas' cores
    billed_request_ms: int = 0  # per answer, rounded up to 1 ms (Lambda's meter)
    billed_busy_seconds: float = 0.0  # busy periods per instance rounded up to 100 ms (Cloud Run's)
    init_seconds: float = 0.0  # cold starts
    starts: int = 0  # replicas started (each pulls the image on Fargate)
    memory_gb: float = 0.0  # one replica's memory request
    vcpu: float = 1.0  # one replica's CPU request
    image_gb: float = 0.0  # the image's compressed size: what a pull moves
    provisioned: int = 0  # Lambda environments kept initialised (provisioned concurrency)
    platform_cpu_seconds: float = 0.0  # the platform's CPU spent on these requests (the OpenFaaS gateway's hop)
    cap: int = 0  # the deploy file's (or the product's) replica cap
    cap_binds: bool = False  # the fleet the load needs is larger than the cap
    hard_cap: bool = False  # the cap cannot be raised (OpenFaaS CE's 5; Lambda's quota is an input)
    bills: dict[str, float] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.dropped + self.refused

    @property
    def cold_share(self) -> float:
        return self.cold_waits / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cold_share": self.cold_share, "lost": self.lost}


def _per_request(r: Result) -> float:
    """What every row pays per answer whatever runs it: the egress."""
    return r.answered * f("response_kb") / 1e6 * f("egress_gb")


def _lambda(r: Result) -> dict[str, float]:
    gb = f("lambda_memory_mb") / 1024
    seconds = r.billed_request_ms / 1000 + r.init_seconds
    base = r.answered * f("lambda_request") + _per_request(r)
    if r.provisioned:  # the provisioned environments all the time, duration at the provisioned rate;
        # on arm64 priced as on x86 (its arm64 prices are not stored here)
        compute = (r.provisioned * r.horizon_s * f("lambda_pc_gb_second")
                   + seconds * f("lambda_pc_duration_gb_second")) * gb
        arm = compute
    else:
        compute, arm = seconds * gb * f("lambda_gb_second"), seconds * gb * f("lambda_arm_gb_second")
    out = {name: base + compute + r.requests * f(door) for name, door in FRONT_DOORS.items()}
    return out | {"lambda arm64": base + arm + r.requests * f("function_url_request")}


def _cloud_run(r: Result) -> dict[str, float]:
    memory = f("cloud_run_memory_gib")
    instance = r.replica_seconds * (r.vcpu * f("cloud_run_instance_vcpu_second")
                                    + memory * f("cloud_run_instance_gib_second")) + _per_request(r)
    if r.policy != "cloud_run":  # min-instances: billed instance-based, idle instances included
        return {"cloud_run instance-based": instance}
    per_second = r.vcpu * f("cloud_run_vcpu_second") + memory * f("cloud_run_gib_second")
    return {"cloud_run": r.answered * f("cloud_run_request") + (r.billed_busy_seconds + r.init_seconds) * per_second
            + _per_request(r), "cloud_run instance-based": instance}


def bills(r: Result, kind: str, reuse: float = 0.0) -> dict[str, float]:
    """Every bill that applies to a run of a policy of `kind` (policies.Policy.kind)."""
    if kind == "managed serverless":
        return _lambda(r) if r.policy.startswith("lambda") else _cloud_run(r)
    platform = PLATFORM.get(r.policy, "")
    hours = r.horizon_s / 3600
    pod = replica_pod(r.policy, r.vcpu, r.memory_gb)
    # The load balancer's capacity units: one new connection per request (a public API's clients), or,
    # where clients keep their connections, the bytes (a request and its answer, 1 GB an LCU-hour).
    lcu = r.requests / r.horizon_s / 25 * hours * f("alb_lcu_hour") if r.horizon_s else 0.0
    lcu_bytes = r.requests * 2 * f("response_kb") / 1e6 * f("alb_lcu_hour")
    variable = (r.replica_seconds / 3600 * fargate_hour(*pod) + hours * pods_hour(platform)
                + r.platform_cpu_seconds / 3600 * f("fargate_vcpu_hour") + r.starts * r.image_gb * f("nat_gb"))
    per_request = lcu + _per_request(r)
    licence = hours / HOURS_PER_MONTH * f("openfaas_licence_month") if r.policy in LICENSED else 0.0
    fixed = hours * fixed_hour()
    p_cpu = sum(c for _, c, _ in PODS.get(platform, ()))
    p_gb = sum(g for _, _, g in PODS.get(platform, ()))
    held = (1 - reuse) * r.peak_replicas * r.horizon_s + reuse * r.replica_seconds
    nodes = f("node_hour") / 3600 * (node_share(*pod) * held + node_share(p_cpu, p_gb) * r.horizon_s
                                     + r.platform_cpu_seconds / f("node_vcpu"))
    shared = variable + per_request + licence
    # On your own nodes CoreDNS runs on them and a pull comes from the node's cache after the first.
    return {"fargate": shared + fixed, "fargate, fixed shared": shared,
            "fargate, keep-alive": shared + fixed - lcu + lcu_bytes,
            "cluster": nodes + per_request + licence + fixed - hours * pods_hour("cluster")}


def per_million(r: dict[str, Any], bill: str) -> float:
    """Dollars per million answered requests under `bill`; inf when nothing was answered, the bill
    does not apply, or the cap that binds cannot be raised."""
    if (r.get("cap_binds") and r.get("hard_cap")) or not r["answered"] or bill not in r["bills"]:
        return math.inf
    return r["bills"][bill] / r["answered"] * 1e6
