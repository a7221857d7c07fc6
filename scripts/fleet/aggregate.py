"""The aggregate model: the traffic as a rate per step, the fleet as a queue with as many servers
as replicas ready, and the same policies deciding once per step. No row of docs/scaling.md comes
from it any more: a step of a minute made a 0.74 s cold start last a step, and it starts every run
cold; every table is request-level (scripts/fleet/engine.py). It stays as the M/G/c cross-check
(Erlang C) the tests hold.

Per step: the arrivals are rate x step; a queue with c ready replicas, each serving at the
measured rate, waits as M/G/c does (Erlang C for the chance to wait, the wait as _Mixture
says); requests that find no replica ready wait for the one starting. Latency percentiles come from the mixture of every
step's distribution, weighted by its requests.
"""

from __future__ import annotations

import numpy as np

from scripts.fleet.cost import Result
from scripts.fleet.engine import TIMEOUT
from scripts.fleet.inputs import Replica
from scripts.fleet.policies import Observed, Policy
from scripts.fleet.traffic import Traffic

GRID = np.geomspace(1e-5, 120.0, 1500)  # seconds: response times on which the mixture is evaluated


def erlang_c(servers: int, load: float) -> float:
    """The chance that an arrival waits in M/M/c with `servers` and offered load a = λ/μ < c."""
    if servers <= 0 or load <= 0:
        return 0.0 if servers > 0 else 1.0
    if load >= servers:
        return 1.0
    term, total = 1.0, 1.0
    for k in range(1, servers):
        term *= load / k
        total += term
    last = term * load / servers / (1 - load / servers)
    return last / (total + last)


class _Mixture:
    """Response times as a weighted sum of distributions: the unloaded latency plus a wait that
    is none, a queue's (below), or uniform (what is left of a cold start). Each is evaluated from
    samples on a common grid.

    A queue's wait, for a request that waits: the sum of N residual service times (what is left
    of the request being served, then whole ones), N geometric with the utilisation: exact for
    one replica (the Pollaczek-Khinchine/Beneš form of M/G/1), and for c replicas the same with
    service c times faster (a pooled server), the chance to wait from Erlang C."""

    SAMPLES = 20000

    def __init__(self, replica: Replica, rng: np.random.Generator):
        self.rng = rng
        picked = rng.integers(len(replica.service), size=self.SAMPLES)
        self.unloaded = replica.unloaded[picked]
        # Residual life: a service time drawn in proportion to its length, times a uniform fraction.
        biased = rng.choice(replica.service, self.SAMPLES, p=replica.service / replica.service.sum())
        self.residual = biased * rng.uniform(size=self.SAMPLES)
        self.residual /= self.residual.mean()
        self.uniform = rng.uniform(size=self.SAMPLES)
        self.weights: dict[tuple[str, float], float] = {}

    def add(self, kind: str, scale: float, weight: float, utilisation: float = 0.0) -> None:
        if weight > 0:  # nearby waits share one component
            key = (kind, float(f"{scale:.2g}"), float(f"{utilisation:.2g}"))
            self.weights[key] = self.weights.get(key, 0.0) + weight

    def _queue_wait(self, scale: float, utilisation: float) -> np.ndarray:
        count = self.rng.geometric(1 - min(utilisation, 0.999), self.SAMPLES)  # >= 1: it waits
        pool = np.cumsum(self.rng.choice(self.residual, int(count.sum())))
        ends = np.cumsum(count) - 1
        return scale * np.diff(np.concatenate(([0.0], pool[ends])))

    def cdf(self) -> np.ndarray:
        total = sum(self.weights.values())
        out = np.zeros_like(GRID)
        for (kind, scale, utilisation), weight in self.weights.items():
            wait = scale if kind == "none" else self._queue_wait(scale, utilisation) if kind == "queue" \
                else scale * self.uniform  # "none": no queue, a constant (the wake-up)
            values = np.sort(self.unloaded + wait)
            out += weight / total * np.searchsorted(values, GRID, side="right") / len(values)
        return out

    def quantiles(self, qs: list[float]) -> list[float]:
        cdf = self.cdf()
        return [float(GRID[min(len(GRID) - 1, int(np.searchsorted(cdf, q)))]) for q in qs]


def simulate(traffic: Traffic, policy: Policy, replica: Replica, horizon: float, step: float = 60.0,
             seed: int = 1, timeout: float = TIMEOUT) -> Result:
    if traffic.rows > 1:
        raise ValueError("the aggregate model simulates single-record requests; batches run request by request")
    rng = np.random.default_rng(seed)
    mean_s = float(replica.service.mean())
    cs2 = float(replica.service.var()) / mean_s**2
    unloaded_s = float(replica.unloaded.mean())
    cold_docker = float(np.median(replica.cold_docker))
    mixture = _Mixture(replica, rng)
    ready_at: list[float] = [0.0] * policy.min_replicas  # warm at the start
    pulled = policy.min_replicas > 0
    state: dict = {}
    requests = dropped = cold_waits = 0.0
    replica_seconds = 0.0
    idle_for = 0.0
    t = 0.0
    while t < horizon:
        dt = min(step, horizon - t)
        rate = traffic.rate(t + dt / 2)
        n = rate * dt
        if n > 0 and not ready_at:  # scaled to zero: the first request wakes a replica
            cold = cold_docker if pulled else float(np.median(replica.cold_pull))
            ready_at.append(t + cold)
            pulled = True
        ready = sum(1 for r in ready_at if r <= t)
        starting = [r - t for r in ready_at if t < r < t + dt]
        # Requests that arrive before any replica is ready wait for the first to start.
        if n > 0 and ready == 0 and starting:
            first = min(starting)
            waiting = n * min(1.0, first / dt)
            cold_waits += waiting
            mixture.add("uniform", first, waiting)
            n_rest = n - waiting
            ready = 1
        else:
            n_rest = n
        load = rate * mean_s
        if n_rest > 0:
            if load >= ready:  # overloaded: what the replicas cannot serve waits out the timeout
                served = ready / mean_s * dt
                dropped += max(0.0, n_rest - served)
                mixture.add("uniform", timeout, min(served, n_rest))
                concurrency = ready + rate * timeout
            else:
                wait_chance = erlang_c(ready, load)
                residual = mean_s * (1 + cs2) / 2 / ready  # of the pooled server's service time
                utilisation = load / ready
                mixture.add("none", replica.wakeup, n_rest * (1 - wait_chance))  # finds a replica idle
                mixture.add("queue", residual, n_rest * wait_chance, utilisation)
                concurrency = rate * (unloaded_s + wait_chance * residual / (1 - utilisation))
        else:
            concurrency = 0.0
        requests += n
        idle_for = 0.0 if n >= 1 else idle_for + dt
        seen = Observed(now=t + dt, rate=rate, concurrency=concurrency, utilization=min(1.0, load / max(ready, 1)),
                        ready=ready, total=len(ready_at), idle_for=idle_for)
        replica_seconds += len(ready_at) * dt
        wanted = policy.desired(seen, state)
        if wanted > len(ready_at):
            cold = cold_docker if pulled else float(np.median(replica.cold_pull))
            ready_at += [t + dt + cold] * (wanted - len(ready_at))
            pulled = True
        elif wanted < len(ready_at):
            ready_at = sorted(ready_at)[:wanted]
        t += dt
    answered = requests - dropped
    p50, p95, p99, top = mixture.quantiles([0.5, 0.95, 0.99, 1 - 1 / max(requests, 1)])
    return Result("aggregate", traffic.name, traffic.mean, policy.name, replica.kind, horizon, round(requests),
                  round(answered), round(dropped), round(cold_waits), p50 * 1000, p95 * 1000, p99 * 1000, top * 1000,
                  replica_seconds, replica_seconds * replica.memory_gb, replica_seconds / horizon,
                  memory_gb=replica.memory_gb, vcpu=replica.vcpu)
