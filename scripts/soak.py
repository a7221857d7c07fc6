"""Soak: wrk at 64 connections for 60 s against the function's container and the server's
(as shipped: access log on), while /_/health is probed every 100 ms; memory before and after.

    python -m scripts.soak [--seconds 60] [--connections 64] [--json docs/bench/soak.json]

Passes when there are no non-2xx answers and no socket errors, no worker was replaced (the
container's own count, device_price_workers_replaced_total), resident memory after the run is
within 5% of before (after a warm-up), and health answers in under 1 s (p99). A supervisor
fault is rare (issue 25: in 2 of 4 one-minute runs): soak for minutes to see one. Loopback
only; bounded by --seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from harness import ROOT, cli, launch
from harness.launch import TARGETS
from harness.load import run_wrk
from harness.stats import container_pid, docker_run_metrics, family, percentile, rss_mb, workers_replaced

OUT = ROOT / "docs" / "bench" / "soak.json"
SOAKED = ("function", "server")


def soak(name: str, image: str, prefix: str, duration: float, connections: int) -> dict[str, Any]:
    path = TARGETS[name].predict_path
    container, url, metrics_url = docker_run_metrics(image, f"{prefix}{name}", {"access_log": "1"})
    try:
        launch.wait_for_prediction(url + path, timeout=30)
        run_wrk(url + path, connections, 5)  # warm-up: allocators and caches settle
        before = rss_mb(family(container_pid(container)))
        health: list[float] = []
        failures = 0
        stop = threading.Event()

        def probe() -> None:
            nonlocal failures
            with requests.Session() as s:
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        ok = s.get(url + "/_/health", timeout=5).status_code == 200
                    except requests.RequestException:
                        ok = False
                    health.append(time.perf_counter() - started)
                    failures += not ok
                    time.sleep(0.1)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        load = run_wrk(url + path, connections, duration)
        stop.set()
        prober.join(10)
        if launch.docker("inspect", "-f", "{{.State.Running}}", container) != "true":
            raise RuntimeError(f"{container} stopped during the soak: "
                               f"{launch.docker('logs', '--tail', '20', container, check=False)}")
        after = rss_mb(family(container_pid(container)))
        replaced = workers_replaced(metrics_url)
    finally:
        launch.stop_container(container)
    result = {
        "image": image, "connections": connections, "duration_s": duration, "load": load,
        "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
        "rss_change": round((after - before) / before, 4),
        "health_probes": len(health), "health_failures": failures,
        "health_p99_ms": percentile(health, 99) * 1000 if health else None, "workers_replaced": replaced,
    }
    result["passed"] = (load["non2xx"] == 0 and load["socket_errors"] == 0 and replaced == 0
                        and abs(result["rss_change"]) <= 0.05
                        and failures == 0 and bool(health) and result["health_p99_ms"] < 1000)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--seconds", "--duration", dest="duration", type=float, default=60,
                        help="seconds of load (default 60)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--target", choices=SOAKED, action="append", help="which container (repeat; default both)")
    parser.add_argument("--image", action="append", default=[], metavar="TARGET=IMAGE",
                        help="another image for a target (default: its :latest)")
    parser.add_argument("--name-prefix", default="device-price-soak-", help="container names (default %(default)s)")
    parser.add_argument("--note", help="said in the JSON (the machine shared, say)")
    parser.add_argument("--json", type=Path, default=OUT, help="where to write the results")
    args = parser.parse_args(argv)
    images = {name: TARGETS[name].image for name in SOAKED}
    for option in args.image:
        name, _, image = option.partition("=")
        if name not in images or not image:
            parser.error(f"--image {option}: TARGET=IMAGE with TARGET one of {', '.join(SOAKED)}")
        images[name] = image
    results: dict[str, Any] = {"note": args.note} if args.note else {}
    for name in args.target or list(SOAKED):
        print(f"soaking {name} for {args.duration:g} s at {args.connections} connections", file=sys.stderr)
        r = results[name] = soak(name, images[name], args.name_prefix, args.duration, args.connections)
        print(f"{name}: {r['load']['throughput_rps']:.0f} req/s, non-2xx {r['load']['non2xx']}, socket errors "
              f"{r['load']['socket_errors']}, p99 {r['load']['p99_ms']:.1f} ms; RSS {r['rss_before_mb']} -> "
              f"{r['rss_after_mb']} MB; {r['workers_replaced']} workers replaced; health p99 {r['health_p99_ms']:.1f} ms "
              f"over {r['health_probes']} probes, "
              f"{r['health_failures']} failed: {'PASS' if r['passed'] else 'FAIL'}")
    cli.write_json(args.json, {"date": cli.now(), **results}, say=False)
    return 0 if all(r["passed"] for r in results.values() if isinstance(r, dict)) else 1


if __name__ == "__main__":
    sys.exit(main())
