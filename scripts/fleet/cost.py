"""Prices, and one simulation's outcome in the units a decision needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from scripts.fleet.inputs import Replica


@dataclass(frozen=True)
class Prices:
    """What a replica's reservation costs, per hour. Defaults: AWS Fargate, Linux/x86, us-east-1,
    on demand (aws.amazon.com/fargate/pricing): the price of a container's CPU and memory whether
    it is busy or idle, which is what a replica on any of these engines holds."""

    vcpu_hour: float = 0.04048
    gb_hour: float = 0.004445
    source: str = "AWS Fargate Linux/x86 us-east-1 on-demand: $0.04048 per vCPU-hour, $0.004445 per GB-hour"

    def per_replica_second(self, replica: Replica) -> float:
        return (replica.vcpu * self.vcpu_hour + replica.memory_gb * self.gb_hour) / 3600


@dataclass
class Result:
    model: str  # "request-level" or "aggregate"
    traffic: str
    mean_rate: float
    policy: str
    image: str
    horizon_s: float
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
    cost: float
    mean_replicas: float

    @property
    def cost_per_million(self) -> float:
        return self.cost / self.answered * 1e6 if self.answered else float("inf")

    @property
    def cold_share(self) -> float:
        return self.cold_waits / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cost_per_million": self.cost_per_million, "cold_share": self.cold_share}
