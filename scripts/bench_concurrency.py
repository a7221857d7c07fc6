"""Throughput and latency of the function's entry and the baseline server at 1 and 8
connections, with wrk on this machine, and the variants tried on the way.

    python -m scripts.bench_concurrency [--only-shipped] [--runs 3] [--duration 8] [--json docs/bench/concurrency.json]

Each configuration runs as its own process on loopback with its access log going to
/dev/null (still written, as in production). Runs are interleaved (configuration A, B, ...,
then again) so the machine's drift spreads over all of them; each figure is the median.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from harness import ROOT, cli, launch
from harness.launch import TARGETS
from harness.load import CONFIGURATIONS, concurrency_table, run_wrk
from harness.stats import median_of, steal_percent

OUT = ROOT / "docs" / "bench" / "concurrency.json"
CONNECTIONS = (1, 8)
CEILING_TARGET = "server (shipped: 2 workers, 1 thread each)"


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
        "date": cli.now(),
        "tool": "wrk -t2 (1 thread at 1 connection), POST one record; medians of runs",
        "duration_s": duration,
        "runs": runs,
        "targets": {name: {c: {"median": median_of(rs), "runs": rs} for c, rs in per.items()}
                    for name, per in results.items()},
        "client_ceiling_health_c8": {"median": median_of(ceiling), "runs": ceiling},
        "client_ceiling_target": CEILING_TARGET,
    }


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--runs", type=int, default=3, help="rounds over every configuration (default 3)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run (default 8)")
    parser.add_argument("--json", type=Path, default=OUT,
                        help=f"where to write the results (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--only-shipped", action="store_true", help="skip the variants tried")
    args = parser.parse_args(argv)
    targets = [n for n in CONFIGURATIONS if "shipped" in n or not args.only_shipped]
    result = bench(args.runs, args.duration, targets)
    print(concurrency_table(result))
    cli.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
