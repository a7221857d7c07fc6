"""The request-level simulation of a fleet, on SimPy: every request, every replica start.

The gateway (OpenFaaS's, Knative's activator, a Service, a managed platform's front end) hands
each request to the first replica free, as the replicas' single core allows one at a time; a
replica that is starting takes its first request once ready. Where the platform forwards every
request to a pod (Policy.inflight_limit), a replica already holding max_inflight refuses with 429;
a request that would wait longer than `timeout` is dropped. Lambda starts an environment for every
request that finds none free, and answers 429 past its quota (the policy's max_replicas) or its
scaling rate, as AWS documents. The autoscaler runs every policy tick as a SimPy process: it serves
the tick's arrivals, observes the policy's window and starts or stops replicas.

Steady-state runs start warm (`warmup` seconds simulated and not counted, the image on every
node); start-up runs begin at the policy's minimum with the image on no node. On Fargate
(`fargate`) every replica start is a new pod: provisioning, the pull and the start. A replica is held
(and billed) from its start until it is stopped; a request waited for a cold start when the
replica that served it was not ready when it arrived.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque

import numpy as np
import simpy

from scripts.fleet.cost import Result
from scripts.fleet.inputs import Replica
from scripts.fleet.policies import Observed, Policy
from scripts.fleet.traffic import Traffic

TIMEOUT = 30.0  # seconds a request may wait (OpenFaaS's and Knative's default timeouts are longer or equal)
NODES = 3
BUSY_ROUNDING = 0.1  # Cloud Run rounds billable instance time up to 100 ms (cost.CLOUD_RUN)


def _rounded(seconds: float) -> float:
    return math.ceil(seconds / BUSY_ROUNDING - 1e-9) * BUSY_ROUNDING


class Fleet:
    def __init__(self, traffic: Traffic, policy: Policy, replica: Replica, seed: int = 1,
                 timeout: float = TIMEOUT, nodes: int = NODES, keep: bool = False, warmup: float = 0.0,
                 image_on_nodes: bool = False, timeline: bool = False, hop: float = 0.0, hop_p99: float = 0.0,
                 hop_cpu: float = 0.0, fargate: bool = False, init_scale: float = 1.0, initial: int | None = None,
                 keep_scale: float = 1.0):
        self.traffic, self.policy, self.replica = traffic, policy, replica
        self.rng = np.random.default_rng(seed)
        self.timeout, self.warmup = timeout, warmup
        # Every cold start x init_scale (the sensitivity sweep); on Fargate each start is a new pod.
        self.fargate, self.init_scale, self.keep_scale = fargate, init_scale, keep_scale
        # A gateway's added latency (lognormal through its median and p99) and CPU per answer (OpenFaaS).
        self.hop, self.hop_cpu = hop, hop_cpu
        self.hop_sigma = math.log(hop_p99 / hop) / 2.326 if hop > 0 and hop_p99 > hop else 0.0
        self.env = simpy.Environment()
        self.node_has_image = [image_on_nodes] * nodes
        self.node_count = [0] * nodes
        self.running: dict[int, tuple[float, float, int]] = {}  # id -> (started, ready, node)
        self.slots: list[tuple[float, int, int]] = []  # (free at, order, replica id)
        self.inflight: dict[int, deque[float]] = {}  # id -> completion times of requests held
        self.periods: dict[int, list[float]] = {}  # id -> [start, end] of its current busy period
        self.ids = itertools.count()
        self.order = itertools.count()
        self.state: dict = {}
        self.window: deque[tuple[float, int, float, float]] = deque()  # (tick end, answered, response s, busy s)
        self.last_arrival = 0.0
        self.latencies: list[float] = []
        self.kept: list[tuple[float, float]] = [] if keep else None  # type: ignore[assignment]
        self.timeline: list[tuple[float, int, int]] | None = [] if timeline else None  # (t, held, ready)
        self.requests = self.dropped = self.refused = self.cold_waits = 0
        self.replica_integral = 0.0  # replica-seconds held after the warm-up: what a reservation bills
        self.peak = 0
        self.busy_seconds = 0.0
        self.billed_request_ms = 0  # each answer's time on the core, rounded up to 1 ms (Lambda)
        self.billed_busy_seconds = 0.0  # busy periods per instance rounded up to 100 ms (Cloud Run)
        self.init_seconds = 0.0  # cold starts after the warm-up (billed by Lambda since 2025-08-01)
        self.starts = 0  # replicas started after the warm-up
        # Lambda's scaling rate: a bucket of new environments, refilled continuously (AWS's wording).
        self.burst = float(policy.params.get("scaling_per_10s", math.inf))
        self.tokens, self.tokens_at = self.burst, 0.0
        self.limit = policy.inflight_limit
        self.per_request = policy.name.startswith("lambda")
        self.round_busy = policy.name.startswith("cloud_run")
        # deployed and warm when the run starts: the minimum, or the replicas the load needs
        for _ in range(max(policy.min_replicas, min(initial or 0, policy.max_replicas))):
            self.add(0.0, warm=True)

    # -- replicas ------------------------------------------------------------------------

    def cold_start(self, node: int) -> float:
        key = self.policy.params.get("cold") or (
            "fargate" if self.fargate else "node" if self.node_has_image[node] else "pull")
        return self.init_scale * float(self.rng.choice(self.replica.cold[key]))

    def may_start(self, now: float) -> bool:
        """Lambda: under its quota, and a token of its scaling rate left."""
        if len(self.running) >= self.policy.max_replicas:
            return False
        self.tokens = min(self.burst, self.tokens + (now - self.tokens_at) * self.burst / 10.0)
        self.tokens_at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def start(self, now: float, warm: bool = False) -> tuple[float, int]:
        node = min(range(len(self.node_count)), key=lambda n: self.node_count[n])
        cold = 0.0 if warm else self.cold_start(node)
        if now >= self.warmup and not warm:
            self.init_seconds += cold
            self.starts += 1
        self.node_has_image[node] = True
        self.node_count[node] += 1
        rid = next(self.ids)
        self.running[rid] = (now, now + cold, node)
        self.inflight[rid] = deque()
        self.peak = max(self.peak, len(self.running)) if now >= self.warmup else self.peak
        return now + cold, rid

    def add(self, now: float, warm: bool = False) -> None:
        ready, rid = self.start(now, warm)
        heapq.heappush(self.slots, (ready, next(self.order), rid))

    def stop(self, now: float, count: int, idle_before: float | None = None) -> None:
        """Stop `count` replicas: those starting first (they have served nobody; the last to be
        ready first), then those free soonest; with `idle_before`, only those idle since then."""
        if idle_before is not None:
            gone = [s for s in self.slots if s[0] < idle_before and self.running[s[2]][1] <= s[0]][:count]
        else:
            starting = sorted((s for s in self.slots if self.running[s[2]][1] > now), key=lambda s: -s[0])
            serving = sorted((s for s in self.slots if self.running[s[2]][1] <= now), key=lambda s: s[0])
            gone = (starting + serving)[:count]
        gone_ids = {s[2] for s in gone}
        self.slots = [s for s in self.slots if s[2] not in gone_ids]
        heapq.heapify(self.slots)
        for _, _, rid in gone:
            _, _, node = self.running.pop(rid)
            self.node_count[node] -= 1
            del self.inflight[rid]
            self._close_period(rid)

    def _close_period(self, rid: int) -> None:
        period = self.periods.pop(rid, None)
        if period and period[1] > self.warmup:
            self.billed_busy_seconds += _rounded(period[1] - max(period[0], self.warmup))

    # -- requests ------------------------------------------------------------------------

    def serve(self, arrivals: np.ndarray, tick_end: float) -> None:
        picked = self.rng.integers(len(self.replica.service), size=len(arrivals))
        service, unloaded = self.replica.service[picked], self.replica.unloaded[picked]
        if self.traffic.rows > 1:  # a batch: its rows' time on the core, plus a request's overhead
            extra = self.traffic.rows * self.replica.batch_row_seconds - service
            service, unloaded = service + extra, unloaded + extra
        if self.hop:
            unloaded = unloaded + self.hop * np.exp(self.hop_sigma * self.rng.standard_normal(len(arrivals)))
        service, unloaded = service.tolist(), unloaded.tolist()
        timeout, slots, wakeup, warmup, limit = self.timeout, self.slots, self.replica.wakeup, self.warmup, self.limit
        running, inflight, order = self.running, self.inflight, self.order
        per_request, round_busy, kept, latencies = self.per_request, self.round_busy, self.kept, self.latencies
        billed = self.replica.lambda_duration_s
        heappush, heapreplace = heapq.heappush, heapq.heapreplace
        arrivals_list = arrivals.tolist()
        if arrivals_list:
            self.requests += len(arrivals_list) - int(np.searchsorted(arrivals, warmup))  # sorted: those >= warmup
            self.last_arrival = arrivals_list[-1]
        answered, response_sum, busy, cold_waits, billed_ms = 0, 0.0, 0.0, 0, 0
        for a, s, u in zip(arrivals_list, service, unloaded, strict=True):
            counted = a >= warmup
            if not slots and not per_request:  # scaled to zero: the gateway holds the request and wakes a replica
                self.add(a)
            fresh = per_request and (not slots or slots[0][0] > a)
            if fresh:  # every environment busy: Lambda starts one, or answers 429
                if not self.may_start(a):
                    self.refused += counted
                    continue
                free_at, rid = self.start(a)
            else:
                free_at, _, rid = slots[0]  # the first replica free; replaced in the heap once served
            if limit is not None:  # the pod holds at most max_inflight, then refuses
                held = inflight[rid]
                while held and held[0] <= a:
                    held.popleft()
                if len(held) >= limit:
                    self.refused += counted
                    continue
            if free_at > a:
                begin = free_at
            else:  # the replica is idle: its core wakes up first
                begin = a
                s, u = s + wakeup, u + wakeup
            if begin - a > timeout:
                self.dropped += counted
                if fresh:  # the environment started for it stays (it serves the next)
                    heappush(slots, (free_at, next(order), rid))
                continue
            end = begin + s
            if fresh:
                heappush(slots, (end, next(order), rid))
            else:
                heapreplace(slots, (end, next(order), rid))
            if limit is not None:
                inflight[rid].append(end)
            if round_busy:
                period = self.periods.get(rid)  # a request inside the billed (rounded) period extends it
                if period and begin <= period[0] + _rounded(period[1] - period[0]):
                    period[1] = end
                else:
                    self._close_period(rid)
                    self.periods[rid] = [begin, end]
            response = begin - a + u
            answered += 1
            response_sum += response
            busy += s
            if not counted:
                continue
            if running[rid][1] > a:  # the replica was starting when the request came
                cold_waits += 1
            latencies.append(response)
            if per_request:
                billed_ms += math.ceil((billed or s) * 1000 - 1e-9)
            if kept is not None:
                kept.append((a, response))
        self.cold_waits += cold_waits
        self.billed_request_ms += billed_ms
        if tick_end > warmup:
            self.busy_seconds += busy
        self.window.append((tick_end, answered, response_sum, busy))

    # -- the autoscaler ------------------------------------------------------------------

    def ready(self, now: float) -> int:
        """Replicas held that are ready (started) at `now`."""
        return sum(1 for _, r, _ in self.running.values() if r <= now)

    def observe(self, now: float) -> Observed:
        span = self.policy.params.get("window", self.policy.tick)
        while self.window and self.window[0][0] <= now - span:
            self.window.popleft()
        length = min(span, now) or 1.0
        answered = sum(w[1] for w in self.window)
        ready = self.ready(now)
        cores = max(ready, 1) * self.replica.vcpu
        return Observed(now=now, rate=answered / length, concurrency=sum(w[2] for w in self.window) / length,
                        utilization=min(1.0, sum(w[3] for w in self.window) / (length * cores)), ready=ready,
                        total=len(self.running), idle_for=now - self.last_arrival if self.requests else now)

    def autoscaler(self, horizon: float):
        tick, last = self.policy.tick, 0.0
        while last < horizon:
            yield self.env.timeout(tick)
            now = min(self.env.now, horizon)
            if now > self.warmup:
                self.replica_integral += len(self.running) * (now - max(last, self.warmup))
            self.serve(self.traffic.arrivals(last, now, self.rng), now)
            if self.per_request:  # Lambda reclaims environments idle for its keep-warm time
                idle = self.policy.params["keep_warm_seconds"] * self.keep_scale
                self.stop(now, max(0, len(self.running) - self.policy.min_replicas), idle_before=now - idle)
            else:
                wanted = self.policy.desired(self.observe(now), self.state)
                if wanted > len(self.running):
                    for _ in range(wanted - len(self.running)):
                        self.add(now)
                elif wanted < len(self.running):
                    self.stop(now, len(self.running) - wanted)
            if now >= self.warmup:
                self.peak = max(self.peak, len(self.running))
            if self.timeline is not None:
                self.timeline.append((now, len(self.running), self.ready(now)))
            last = now

    def run(self, horizon: float, model: str = "request-level") -> Result:
        """Simulate `warmup + horizon` seconds; count the last `horizon`."""
        total = self.warmup + horizon
        self.env.process(self.autoscaler(total))
        self.env.run()
        for rid in list(self.periods):
            self._close_period(rid)
        ms = np.array(self.latencies) * 1000 if self.latencies else np.array([np.nan])
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        return Result(model, self.traffic.name, self.traffic.mean, self.policy.name, self.replica.kind, horizon,
                      self.requests, len(self.latencies), self.dropped, self.cold_waits, float(p50), float(p95),
                      float(p99), float(ms.max()), self.replica_integral, self.replica_integral * self.replica.memory_gb,
                      self.replica_integral / horizon, refused=self.refused, peak_replicas=self.peak,
                      busy_seconds=self.busy_seconds, billed_request_ms=self.billed_request_ms,
                      billed_busy_seconds=self.billed_busy_seconds, init_seconds=self.init_seconds,
                      memory_gb=self.replica.memory_gb, vcpu=self.replica.vcpu, starts=self.starts,
                      image_gb=self.replica.image_gb, platform_cpu_seconds=self.hop_cpu * len(self.latencies),
                      provisioned=self.policy.min_replicas if self.per_request else 0, cap=self.policy.max_replicas,
                      hard_cap=self.policy.hard_cap)


def simulate(traffic: Traffic, policy: Policy, replica: Replica, horizon: float, seed: int = 1,
             warmup: float = 0.0, **options) -> Result:
    """One run: `options` as Fleet takes them (image_on_nodes, hop, fargate, init_scale, initial...)."""
    return Fleet(traffic, policy, replica, seed, warmup=warmup, **options).run(horizon)
