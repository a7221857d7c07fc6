"""The request-level simulation of a fleet, on SimPy: every request, every replica start.

The gateway (OpenFaaS's, Knative's activator, a Service) holds requests in one FIFO queue and
hands each to the first replica free, as the replicas' single core allows one at a time; a
replica that is starting takes its first request once ready (the request waited for a cold
start). A request that would wait longer than `timeout` is dropped. The autoscaler runs every
policy tick as a SimPy process: it serves the tick's arrivals, observes the policy's window
and starts or stops replicas. A replica starting on a node that has never run the image pays
the pull; it is billed from its start until it has finished its last request.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass

import numpy as np
import simpy

from scripts.fleet.cost import Prices, Result
from scripts.fleet.inputs import Replica
from scripts.fleet.policies import Observed, Policy
from scripts.fleet.traffic import Traffic

TIMEOUT = 30.0  # seconds a request may wait (OpenFaaS's and Knative's default timeouts are longer or equal)
NODES = 3


@dataclass
class _Running:
    started: float
    ready: float


class Fleet:
    def __init__(self, traffic: Traffic, policy: Policy, replica: Replica, seed: int = 1,
                 timeout: float = TIMEOUT, nodes: int = NODES, keep: bool = False):
        self.traffic, self.policy, self.replica = traffic, policy, replica
        self.rng = np.random.default_rng(seed)
        self.timeout = timeout
        self.env = simpy.Environment()
        self.node_has_image = [False] * nodes
        self.node_count = [0] * nodes
        self.running: dict[int, tuple[_Running, int]] = {}  # id -> (times, node)
        self.slots: list[tuple[float, int, int, bool]] = []  # (free at, order, replica id, waking)
        self.ids = itertools.count()
        self.order = itertools.count()
        self.state: dict = {}
        self.window: deque[tuple[float, int, float, float]] = deque()  # (tick end, answered, response s, busy s)
        self.last_arrival = 0.0
        self.latencies: list[float] = []
        self.kept: list[tuple[float, float]] = [] if keep else None  # type: ignore[assignment]
        self.requests = self.dropped = self.cold_waits = 0
        self.replica_seconds = 0.0
        self.replica_integral = 0.0  # replica-seconds of replicas held, for the mean count
        for _ in range(policy.min_replicas):  # deployed and warm when the run starts
            self.start(0.0, warm=True)

    # -- replicas ------------------------------------------------------------------------

    def start(self, now: float, warm: bool = False) -> None:
        node = min(range(len(self.node_count)), key=lambda n: self.node_count[n])
        if warm:
            cold = 0.0
        else:
            samples = self.replica.cold_docker if self.node_has_image[node] else self.replica.cold_pull
            cold = float(self.rng.choice(samples))
        self.node_has_image[node] = True
        self.node_count[node] += 1
        rid = next(self.ids)
        self.running[rid] = (_Running(now, now + cold), node)
        heapq.heappush(self.slots, (now + cold, next(self.order), rid, not warm))

    def stop(self, now: float, count: int) -> None:
        """Stop `count` replicas, those free soonest (starting ones first: they are free latest
        but have served nobody, so the one to cancel is the last to become free among those)."""
        starting = sorted((s for s in self.slots if s[3]), key=lambda s: -s[0])
        serving = sorted((s for s in self.slots if not s[3]), key=lambda s: s[0])
        gone = (starting + serving)[:count]
        gone_ids = {s[2] for s in gone}
        self.slots = [s for s in self.slots if s[2] not in gone_ids]
        heapq.heapify(self.slots)
        for free_at, _, rid, _ in gone:
            times, node = self.running.pop(rid)
            self.node_count[node] -= 1
            self.replica_seconds += max(now, free_at) - times.started

    # -- requests ------------------------------------------------------------------------

    def serve(self, arrivals: np.ndarray, tick_end: float) -> None:
        picked = self.rng.integers(len(self.replica.service), size=len(arrivals))
        service, unloaded = self.replica.service[picked], self.replica.unloaded[picked]
        if self.traffic.rows > 1:  # a batch: its rows' time on the core, plus a request's overhead
            extra = self.traffic.rows * self.replica.batch_row_seconds - service
            service, unloaded = service + extra, unloaded + extra
        service, unloaded = service.tolist(), unloaded.tolist()
        timeout, slots, wakeup = self.timeout, self.slots, self.replica.wakeup
        answered, response_sum, busy = 0, 0.0, 0.0
        for a, s, u in zip(arrivals.tolist(), service, unloaded, strict=True):
            self.requests += 1
            self.last_arrival = a
            if not slots:  # scaled to zero: the gateway holds the request and wakes a replica
                self.start(a)
            free_at, _, rid, waking = heapq.heappop(slots)
            if free_at > a:
                begin = free_at
            else:  # the replica is idle: its core wakes up first
                begin = a
                s, u = s + wakeup, u + wakeup
            if begin - a > timeout:
                self.dropped += 1
                heapq.heappush(slots, (free_at, next(self.order), rid, waking))
                continue
            heapq.heappush(slots, (begin + s, next(self.order), rid, False))
            response = begin - a + u
            if waking and begin > a:
                self.cold_waits += 1
            self.latencies.append(response)
            if self.kept is not None:
                self.kept.append((a, response))
            answered += 1
            response_sum += response
            busy += s
        self.window.append((tick_end, answered, response_sum, busy))

    # -- the autoscaler ------------------------------------------------------------------

    def observe(self, now: float) -> Observed:
        span = self.policy.params.get("window", self.policy.tick)
        while self.window and self.window[0][0] <= now - span:
            self.window.popleft()
        length = min(span, now) or 1.0
        answered = sum(w[1] for w in self.window)
        ready = sum(1 for times, _ in self.running.values() if times.ready <= now)
        return Observed(now=now, rate=answered / length, concurrency=sum(w[2] for w in self.window) / length,
                        utilization=sum(w[3] for w in self.window) / (length * max(ready, 1)), ready=ready,
                        total=len(self.running), idle_for=now - self.last_arrival if self.requests else now)

    def autoscaler(self, horizon: float):
        tick, last = self.policy.tick, 0.0
        while last < horizon:
            yield self.env.timeout(tick)
            now = min(self.env.now, horizon)
            self.replica_integral += len(self.running) * (now - last)
            self.serve(self.traffic.arrivals(last, now, self.rng), now)
            wanted = self.policy.desired(self.observe(now), self.state)
            if wanted > len(self.running):
                for _ in range(wanted - len(self.running)):
                    self.start(now)
            elif wanted < len(self.running):
                self.stop(now, len(self.running) - wanted)
            last = now

    def run(self, horizon: float, prices: Prices = Prices(), model: str = "request-level") -> Result:
        self.env.process(self.autoscaler(horizon))
        self.env.run()
        for rid, (times, _) in list(self.running.items()):
            free_at = max((s[0] for s in self.slots if s[2] == rid), default=horizon)
            self.replica_seconds += max(horizon, free_at) - times.started
        ms = np.array(self.latencies) * 1000 if self.latencies else np.array([np.nan])
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        return Result(model, self.traffic.name, self.traffic.mean, self.policy.name, self.replica.kind, horizon,
                      self.requests, len(self.latencies), self.dropped, self.cold_waits, float(p50), float(p95),
                      float(p99), float(ms.max()), self.replica_seconds, self.replica_seconds * self.replica.memory_gb,
                      self.replica_seconds * prices.per_replica_second(self.replica), self.replica_integral / horizon)


def simulate(traffic: Traffic, policy: Policy, replica: Replica, horizon: float, seed: int = 1,
             prices: Prices = Prices()) -> Result:
    return Fleet(traffic, policy, replica, seed).run(horizon, prices)
