"""Throughput and latency of the function's entry and the baseline server at 1 and 8
connections, with wrk on this machine, and the variants tried on the way.

    python -m scripts.bench_concurrency [--runs 3] [--duration 8] [--json docs/bench/concurrency.json]

Each configuration runs as its own process on loopback with its access log going to
/dev/null (still written, as in production). Runs are interleaved (configuration A, B, ...,
then again) so the machine's drift spreads over all of them; each figure is the median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from scripts.loadtest import median_of, run_wrk

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "bench" / "concurrency.json"

# name -> (module, environment); "shipped" ones are the defaults users get.
TARGETS: dict[str, tuple[str, dict[str, str]]] = {
    "function (shipped: 1 worker, 1 thread)": ("fn", {}),
    "server (shipped: 2 workers, 1 thread each)": ("baseline", {"workers": "2"}),
    "function, 4 threads": ("fn", {"threads": "4"}),
    "function, stock Waitress settings, 4 threads": ("fn", {"threads": "4", "waitress_tuning": "0"}),
    "server, 2 workers, 2 threads each": ("baseline", {"workers": "2", "threads": "2"}),
}
CONNECTIONS = (1, 8)
CEILING_TARGET = "server (shipped: 2 workers, 1 thread each)"


def start(module: str, env: dict[str, str], port: int) -> tuple[subprocess.Popen, str]:
    full = {**os.environ, "port": str(port), "drain_delay": "0", **env}
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/_/health", timeout=1).status_code == 200:
                return proc, url + ("/predict" if module == "baseline" else "/")
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{module} did not become healthy")


def steal_percent(seconds: float) -> float:
    """CPU time stolen by the hypervisor while sleeping `seconds` (noise on a shared host)."""
    def read() -> list[int]:
        return [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    a = read()
    time.sleep(seconds)
    b = read()
    total = sum(b) - sum(a)
    return 100 * (b[7] - a[7]) / total if total else 0.0


def bench(runs: int, duration: float, targets: list[str]) -> dict[str, Any]:
    procs = {}
    try:
        for i, name in enumerate(targets):
            module, env = TARGETS[name]
            procs[name] = start(module, env, 18900 + i)
        results: dict[str, dict[str, list]] = {n: {str(c): [] for c in CONNECTIONS} for n in targets}
        ceiling = []
        total = runs * len(targets) * len(CONNECTIONS)
        done = 0
        for _ in range(runs):
            for name in targets:
                for c in CONNECTIONS:
                    done += 1
                    print(f"[{done}/{total}] {name}, {c} connection(s)", file=sys.stderr, flush=True)
                    results[name][str(c)].append(run_wrk(procs[name][1], c, duration))
            # The client's own ceiling: the cheapest endpoint of the server with the most
            # workers, 8 connections.
            health = procs[CEILING_TARGET][1].rsplit("/", 1)[0] + "/_/health"
            ceiling.append(run_wrk(health, 8, duration, method="GET", body=b""))
        steal = steal_percent(1.0)
    finally:
        for proc, _ in procs.values():
            proc.terminate()
            proc.wait(10)
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release(),
                    "steal_percent_after": round(steal, 2)},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": "wrk -t2 (1 thread at 1 connection), POST one record; medians of runs",
        "duration_s": duration,
        "runs": runs,
        "targets": {name: {c: {"median": median_of(rs), "runs": rs} for c, rs in per.items()}
                    for name, per in results.items()},
        "client_ceiling_health_c8": {"median": median_of(ceiling), "runs": ceiling},
        "client_ceiling_target": CEILING_TARGET,
    }


def rows(result: dict[str, Any]) -> list[tuple[str, str, dict[str, float]]]:
    """(configuration, connections, median figures), wrk's own ceiling last."""
    out = [(name, c, r["median"]) for name, per in result["targets"].items() for c, r in per.items()]
    on = result.get("client_ceiling_target", "the first configuration")
    out.append((f"wrk's own ceiling: GET /_/health on {on}", "8", result["client_ceiling_health_c8"]["median"]))
    return out


def table(result: dict[str, Any]) -> str:
    lines = [f"{'configuration':<48}{'conns':>6}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"]
    lines += [f"{name:<48}{c:>6}{m['throughput_rps']:>9.0f}{m['p50_ms']:>8.2f}{m['p99_ms']:>8.2f}{m['error_rate']:>8.2%}"
              for name, c, m in rows(result)]
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> list[str]:
    """The same table in Markdown, for the README and docs/results.md."""
    lines = ["| configuration | connections | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {c} | {m['throughput_rps']:,.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | "
              f"{m['error_rate']:.2%} |" for name, c, m in rows(result)]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--json", type=Path, default=OUT)
    parser.add_argument("--only-shipped", action="store_true", help="skip the variants tried")
    args = parser.parse_args(argv)
    targets = [n for n in TARGETS if "shipped" in n or not args.only_shipped]
    result = bench(args.runs, args.duration, targets)
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
