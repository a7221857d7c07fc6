"""Throughput and latency of the function's entry and the baseline server at 1 and 8
connections, with wrk on this machine, and the variants tried on the way.

    python -m scripts.bench_concurrency [--only-shipped] [--runs 3] [--duration 8] [--json docs/bench/concurrency.json]

Each configuration runs as its own process on loopback with its access log going to
/dev/null (still written, as in production). Runs are interleaved (configuration A, B, ...,
then again) so the machine's drift spreads over all of them; each figure is the median.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli, launch
from scripts.loadtest import run_wrk
from scripts.stats import median_of
from scripts.targets import TARGETS

OUT = launch.ROOT / "docs" / "bench" / "concurrency.json"

# configuration -> (target, settings); "shipped" ones are the defaults users get: metrics on
# and one JSON access-log line per request (to /dev/null here; its cost in a container's log
# driver is apart, see docs/benchmarks.md). "observability off" measures what those two cost.
CONFIGURATIONS: dict[str, tuple[str, dict[str, str]]] = {
    "function (shipped: 1 worker, 1 thread)": ("function", {}),
    "server (shipped: 2 workers, 1 thread each)": ("server", {}),
    "function, observability off (no metrics, no access log)": ("function", {"metrics_port": "0", "access_log": "0"}),
    "server, observability off (no metrics, no access log)": ("server", {"metrics_port": "0", "access_log": "0"}),
    "function, 4 threads": ("function", {"threads": "4"}),
    "function, stock Waitress settings, 4 threads": ("function", {"threads": "4", "waitress_tuning": "0"}),
    "server, 2 workers, 2 threads each": ("server", {"threads": "2"}),
}
CONNECTIONS = (1, 8)
CEILING_TARGET = "server (shipped: 2 workers, 1 thread each)"


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
        for name in targets:
            target, env = CONFIGURATIONS[name]
            proc, url = launch.serve_process(TARGETS[target], {"drain_delay": "0", **env})
            procs[name] = proc, url + TARGETS[target].predict_path
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
            health = procs[CEILING_TARGET][1].removesuffix(TARGETS["server"].predict_path) + "/_/health"
            ceiling.append(run_wrk(health, 8, duration, method="GET", body=b""))
        steal = steal_percent(1.0)
    finally:
        for proc, _ in procs.values():
            launch.stop_process(proc)
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
    """The same table in Markdown, for docs/benchmarks.md and docs/results.md."""
    lines = ["| configuration | connections | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {c} | {m['throughput_rps']:,.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | "
              f"{m['error_rate']:.2%} |" for name, c, m in rows(result)]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--runs", type=int, default=3, help="rounds over every configuration (default 3)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run (default 8)")
    parser.add_argument("--json", type=Path, default=OUT,
                        help=f"where to write the results (default {OUT.relative_to(launch.ROOT)})")
    parser.add_argument("--only-shipped", action="store_true", help="skip the variants tried")
    parser.add_argument("--observability", action="store_true",
                        help="only the shipped configurations and the same with metrics and access log off")
    args = parser.parse_args(argv)
    targets = [n for n in CONFIGURATIONS
               if "shipped" in n or not (args.only_shipped or args.observability) or
               (args.observability and "observability off" in n)]
    result = bench(args.runs, args.duration, targets)
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
