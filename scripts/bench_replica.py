"""One replica of each image on one CPU core, measured for the fleet simulation (scripts/fleet):
its latency and rate with one connection (requests back to back, wrk), the wake-up a request
pays when it finds the replica idle (open loop at 5% load), its rate at 8 connections, the time
per row of a 1,000-row batch, and its memory after the load.

    python -m scripts.bench_replica [--image fn --image server --image tf] [--json docs/bench/replica.json]

Each container runs as users run it (read-only root, no capabilities) on the host network (no
docker-proxy in the path) pinned to CPU 1 (`--cpuset-cpus 1`); the clients are pinned to CPU 0,
so the replica's core is its own. The access log is off, metrics on.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fn.record.fields import EXAMPLE
from scripts import cli, launch, openloop
from scripts.loadtest import run_wrk
from scripts.targets import TARGETS

OUT = launch.ROOT / "docs" / "bench" / "replica.json"
IMAGES = {"fn": "function", "server": "server", "tf": "tensorflow"}
REPLICA_CPU = "1"  # the core a replica owns; the clients run on CPU 0
CLIENT_CPU = "0"


def pin_clients() -> None:
    """This process (and the wrk it starts) on CLIENT_CPU."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})


def start(target_name: str, name: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    """The target's image on the host network, pinned to REPLICA_CPU, access log off unless `env`
    says otherwise; (container, base URL)."""
    target = TARGETS[target_name]
    port = launch.free_port()
    launch.docker("rm", "-f", name, check=False)
    settings = {"port": str(port), "metrics_port": str(launch.free_port()), "access_log": "0", "drain_delay": "0",
                **(env or {})}
    args = ["run", "-d", "--name", name, "--network", "host", "--cpuset-cpus", REPLICA_CPU, "--read-only",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    for key, value in settings.items():
        args += ["-e", f"{key}={value}"]
    if target_name == "tensorflow":
        args += ["--tmpfs", "/tmp"]
    launch.docker(*args, target.image)
    url = f"http://127.0.0.1:{port}"
    launch.wait_until_ok(url + "/_/ready", timeout=180)
    return name, url


def service_times(url: str, path: str, body: bytes, count: int) -> list[float]:
    """Seconds per request, sequential on one keep-alive connection (after a warm-up): batches."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Content-Type": "application/json"}
    times = []
    for i in range(count + 50):
        started = time.perf_counter()
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}{path} answered {response.status}")
        if i >= 50:
            times.append(time.perf_counter() - started)
    conn.close()
    return times


def memory_mb(name: str) -> float:
    """The container's memory use as `docker stats` reports it (cgroup usage less page cache)."""
    out = launch.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name).split("/")[0].strip()
    number, unit = float(out.rstrip("KMGiB")), out.lstrip("0123456789.")
    return number * {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0, "kB": 1 / 1000, "MB": 1.0, "GB": 1000.0}[unit]


def measure(kind: str, duration: float) -> dict[str, Any]:
    target = TARGETS[IMAGES[kind]]
    name, url = start(target.name, f"device-price-replica-{kind}")
    try:
        body = json.dumps(EXAMPLE).encode()
        # One connection, back to back: the unloaded latency (its distribution) and the rate.
        closed = openloop.run(url + target.predict_path, None, duration, body=body)
        # Requests that find the replica idle take longer (its core has gone to sleep): the
        # median at 5% load, less the back-to-back one.
        idle = openloop.run(url + target.predict_path, 0.05 * closed["achieved_rps"], 2 * duration, body=body)
        batch_body = json.dumps({"instances": [EXAMPLE] * 1000}).encode()
        batch = service_times(url, target.predict_path, batch_body, 5 if kind == "tf" else 20)
        capacity = {"1": closed, "8": run_wrk(url + target.predict_path, 8, duration, threads=1)}
        memory = memory_mb(name)
    finally:
        launch.stop_container(name)
    return {
        "image": target.image,
        "slots": 2 if kind == "server" else 1,  # workers x threads as shipped
        "service_seconds": closed["quantiles_s"],
        "service_p50_ms": closed["p50_ms"],
        "wakeup_seconds": max(0.0, (idle["p50_ms"] - closed["p50_ms"]) / 1000),
        "batch_1000_seconds": batch,
        "capacity_rps": {"1": closed["achieved_rps"], "8": capacity["8"]["throughput_rps"]},
        "wrk": {"1": {k: v for k, v in closed.items() if k != "quantiles_s"}, "8": capacity["8"], "idle_5_percent": {
            k: v for k, v in idle.items() if k != "quantiles_s"}},
        "memory_mb": memory,
    }


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--image", action="append", choices=list(IMAGES), help="repeatable (default all three)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--json", type=Path, default=OUT, help="where to write the results")
    args = parser.parse_args(argv)
    pin_clients()
    kinds = args.image or list(IMAGES)
    missing = [TARGETS[IMAGES[k]].image for k in kinds
               if not launch.docker("images", "-q", TARGETS[IMAGES[k]].image, check=False)]
    if missing:
        parser.error(f"not built: {', '.join(missing)} (make image-fn / image-server / image-tf)")
    previous = json.loads(args.json.read_text())["replicas"] if args.json.exists() else {}
    replicas = dict(previous)
    for kind in cli.progress(kinds, "replicas"):
        replicas[kind] = measure(kind, args.duration)
        r = replicas[kind]
        print(f"{kind}: service p50 {r['service_p50_ms']:.2f} ms, capacity {r['capacity_rps']['1']:,.0f} / "
              f"{r['capacity_rps']['8']:,.0f} req/s at 1 / 8 connections, {r['memory_mb']:.0f} MB", file=sys.stderr)
    cli.write_json(args.json, {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "configuration": f"container on the host network pinned to CPU {REPLICA_CPU}, clients on CPU {CLIENT_CPU}, "
                         "access log off, metrics on",
        "replicas": replicas})
    return 0


if __name__ == "__main__":
    sys.exit(main())
