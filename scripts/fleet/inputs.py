"""What the simulation knows of one replica, read only from figures this project measures
(docs/bench/*.json); every figure keeps the name of its source.

A replica owns one CPU core (as scripts/bench_replica.py measured it) and answers one request
at a time on it. An answer takes its unloaded latency (a sample of the sequential single-record
latencies: the client, the loopback and the replica's work) plus its wait in the queue, plus
a wake-up when it finds the replica idle (sequential requests keep the core awake; requests
that arrive into an idle replica find it asleep and take longer); the
queue moves at the replica's service time, which has the shape of those latencies and the mean
1 / (req/s at one connection). At 8 connections a replica answers more per second (it wakes up
less often between requests); under Poisson arrivals it seldom has that many waiting, so the
simulation does not count on it (scripts/fleet/validate.py checks the choice against real runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scripts.fleet import coldstarts
from scripts.fleet.policies import CPU_REQUEST, MEMORY_REQUEST_MB

BENCH = Path(__file__).resolve().parent.parent.parent / "docs" / "bench"
# The images the simulation compares; what each policy runs (the function or the server build
# of the slim image, or the TensorFlow image).
IMAGES = {"tflite": {"function": "fn", "server": "server"}, "tensorflow": {"function": "tf", "server": "tf"}}
COLDSTART_IMAGE = {"fn": "device-price-fn:latest", "server": "device-price-server:latest", "tf": "device-price-tf:latest"}
# The server image is the function image's layers plus one file: a fresh node pulls as much.
PULL_IMAGE = {"fn": "device-price-fn:latest", "server": "device-price-fn:latest", "tf": "device-price-tf:latest"}
MEMORY_HEADROOM = 1.25  # a replica's memory request over its measured use, when no deploy file states it
PROCESS_RUN = {"fn": "function", "server": "function", "tf": "tensorflow"}  # coldstart-process.json's names
SIZES = {"fn": "function", "server": "server", "tf": "tensorflow"}  # report-sizes.json's names


@dataclass
class Replica:
    kind: str  # fn, server, tf (scripts/bench_replica.py's names)
    service: np.ndarray  # seconds of the core per request (samples)
    unloaded: np.ndarray  # seconds per answer with no queue (the same samples, as the client saw them)
    wakeup: float  # seconds more for a request that finds the replica idle (its core asleep)
    batch_row_seconds: float  # per row of a 1,000-row batch
    memory_gb: float  # requested: measured use x MEMORY_HEADROOM
    vcpu: float
    cold_docker: np.ndarray  # docker run -> first prediction, the image on the node (samples, s)
    cold_pull: np.ndarray  # the same on a node without the image: pull + run (samples, s)
    cold_process: np.ndarray = field(default_factory=lambda: np.array([0.3]))  # process spawn -> first answer (s)
    sources: dict[str, str] = field(default_factory=dict)
    # Each platform's own cold start (samples, s): "node" (self-hosted, the image on the node),
    # "pull" (a node without it), "fargate" (a new pod: provisioning, pull, start), "lambda",
    # "cloud_run"; scripts.fleet.coldstarts fills them from the measurements.
    cold: dict[str, np.ndarray] = field(default_factory=dict)
    image_gb: float = 0.0  # the image's compressed size: what a pull moves
    lambda_duration_s: float | None = None  # billed per invocation, as measured under the Lambda emulator

    def __post_init__(self) -> None:
        defaults = {"node": self.cold_docker, "pull": self.cold_pull, "fargate": self.cold_pull,
                    "lambda": self.cold_process, "cloud_run": self.cold_process}
        self.cold = {**defaults, **self.cold}

    @property
    def capacity(self) -> float:
        return 1.0 / float(self.service.mean())


def _read(name: str) -> dict:
    path = BENCH / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the measurement that writes it (make bench / make report)")
    return json.loads(path.read_text())


def _seconds(runs: list[dict]) -> np.ndarray:
    return np.array([r["seconds"] for r in runs], dtype=float)


def replica(kind: str, bench: str = "replica.json", latencies: list[float] | None = None,
            capacity: float | None = None, wakeup: float | None = None) -> Replica:
    """The replica of `kind` as measured (docs/bench/replica.json, coldstart-docker.json,
    coldstart-pull.json); `latencies` and `capacity`: measured otherwise (another client, a
    CPU limit), for a simulation of that."""
    measured = _read(bench)["replicas"][kind]
    sequential = np.array(latencies or measured["service_seconds"], dtype=float)
    mean_service = 1.0 / (capacity or measured["capacity_rps"]["1"])
    service = sequential * (mean_service / sequential.mean())
    docker, pull = _read("coldstart-docker.json"), _read("coldstart-pull.json")
    batch = np.median(measured["batch_1000_seconds"]) / 1000
    sizes = _read("report-sizes.json")["images"][SIZES[kind]]
    made = Replica(
        kind=kind, service=service, unloaded=sequential,
        wakeup=measured.get("wakeup_seconds", 0.0) if wakeup is None else wakeup,
        # Memory as requested: the deploy files' request for the slim image (policies.MEMORY_REQUEST_MB),
        # the measured use with headroom for TensorFlow's (no deploy file sizes it); CPU: the request.
        batch_row_seconds=float(batch),
        memory_gb=max(measured["memory_mb"] * MEMORY_HEADROOM, 0.0 if kind == "tf" else MEMORY_REQUEST_MB) / 1024,
        vcpu=CPU_REQUEST,
        cold_docker=_seconds(docker["runs"][COLDSTART_IMAGE[kind]]),
        cold_pull=_seconds(pull["runs"][PULL_IMAGE[kind]]),
        cold_process=_seconds(_read("coldstart-process.json")["runs"][PROCESS_RUN[kind]]),
        sources={"service": f"docs/bench/{bench} replicas.{kind}.service_seconds, capacity_rps.1",
                 "memory": f"docs/bench/{bench} replicas.{kind}.memory_mb",
                 "batch": f"docs/bench/{bench} replicas.{kind}.batch_1000_seconds",
                 "cold_docker": f"docs/bench/coldstart-docker.json runs.{COLDSTART_IMAGE[kind]}",
                 "cold_pull": f"docs/bench/coldstart-pull.json runs.{PULL_IMAGE[kind]}",
                 "cold_process": f"docs/bench/coldstart-process.json runs.{PROCESS_RUN[kind]}",
                 "image": f"docs/bench/report-sizes.json images.{SIZES[kind]}.gzip_mb"},
        image_gb=sizes["gzip_mb"] / 1000)
    coldstarts.fill(made, BENCH)
    return made


@dataclass(frozen=True)
class Gateway:
    """The OpenFaaS gateway's hop as measured (docs/bench/gateway.json): one connection through the
    real CE gateway and provider against the replica directly, on the same machine."""

    added_s: float  # the median latency it adds to an answer
    added_p99_s: float  # what it adds at the 99th percentile
    cpu_s: float  # the gateway's and provider's CPU per request
    source: str


def gateway(bench: str = "gateway.json") -> Gateway | None:
    """The measured hop, or None before scripts/gateway's measurement has written it."""
    if not (BENCH / bench).exists():
        return None
    data = _read(bench)
    added, median = data["added_by_gateway"]["c1"], data["median"]["gateway_c1"]
    return Gateway(added_s=added["p50_ms"] / 1000, added_p99_s=max(0.0, added["p99_ms"] / 1000),
                   cpu_s=median["platform_cpu_ms_per_request"] / 1000,
                   source=f"docs/bench/{bench} added_by_gateway.c1, median.gateway_c1.platform_cpu_ms_per_request "
                          f"({data.get('date', '')[:10]})")
