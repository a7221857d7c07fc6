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

import json
import sys
from pathlib import Path
from typing import Any

from fn.record.fields import EXAMPLE
from harness import ROOT, cli, launch
from harness.launch import TARGETS
from harness.load import open_loop, run_wrk, sequential
from harness.stats import CLIENT_CPU, REPLICA_CPU, memory_mb, pin

OUT = ROOT / "docs" / "bench" / "replica.json"
IMAGES = {target.build: name for name, target in TARGETS.items()}  # --image fn, server, tf


def measure(kind: str, duration: float) -> dict[str, Any]:
    target = TARGETS[IMAGES[kind]]
    name, url = launch.docker_run_pinned(target.name, f"device-price-replica-{kind}", REPLICA_CPU)
    try:
        body = json.dumps(EXAMPLE).encode()
        # One connection, back to back: the unloaded latency (its distribution) and the rate.
        closed = open_loop(url + target.predict_path, None, duration, body=body)
        # Requests that find the replica idle take longer (its core has gone to sleep): the
        # median at 5% load, less the back-to-back one.
        idle = open_loop(url + target.predict_path, 0.05 * closed["achieved_rps"], 2 * duration, body=body)
        batch_body = json.dumps({"instances": [EXAMPLE] * 1000}).encode()
        batch = sequential(url, {"batch": (target.predict_path, batch_body)}, 5 if kind == "tf" else 20)["batch"]
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
    pin()
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
        "date": cli.now(),
        "configuration": f"container on the host network pinned to CPU {REPLICA_CPU}, clients on CPU {CLIENT_CPU}, "
                         "access log off, metrics on",
        "replicas": replicas})
    return 0


if __name__ == "__main__":
    sys.exit(main())
