"""What the deployed function costs on a running OpenFaaS stack: the replica's CPU at rest, and the
gateway's cost per request.

    python -m scripts.on_stack -- python -m scripts.gateway [--duration 5] [--rounds 3] [--rest 30]
                                                          [--json docs/bench/gateway.json]

Needs the stack up with the function deployed (python -m scripts.on_stack does both, and `make
rollout` runs this command so), and root: wrk runs inside the gateway's or the replica's network
namespace (nsenter), so the published port's proxy is in neither path. Measures, in this order:
- at rest: the CPU the function's one replica's cgroup used over --rest seconds without requests
  (the service and any health check, which runs inside it), as a share of one core;
- wrk with 1 and 8 connections through the gateway (faas-swarm proxying to the replica) against the
  same replica directly, interleaved, --rounds times: req/s, p50, p99, the latency the platform adds
  per request, and the CPU seconds per request of gateway + provider (their containers' cgroups) and
  of the replica.
Prints the medians and writes --json, from which `python -m scripts.render` renders docs/deploy.md's
section (with scripts/rollout.py's rollout.json and the openfaas cold starts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import cli, launch
from harness.load import netns, run_wrk
from harness.stats import cgroup_cpu_seconds, container_id

PLATFORM = ("openfaas-gateway", "openfaas-provider")  # their containers, as ../shared/openfaas/up.sh names them


def replica(function: str) -> str:
    """The id of the function's one running container."""
    ids = launch.function_containers(function)
    if len(ids) != 1:
        raise RuntimeError(f"expected one running container of {function}, found {len(ids)} (is it deployed?)")
    return ids[0]


def rest_cost(function: str, seconds: float) -> dict[str, Any]:
    """What the deployed replica spends at rest, as a share of one core over `seconds` of no
    requests (its cgroup: the service and any health check, which runs inside it)."""
    cid = replica(function)
    config = json.loads(launch.docker("inspect", "-f", "{{json .Config}}", cid))
    check = config.get("Healthcheck") or {}
    time.sleep(2)  # past the first answer's after-effects
    before = cgroup_cpu_seconds(cid)
    time.sleep(seconds)
    share = (cgroup_cpu_seconds(cid) - before) / seconds
    return {"image": config["Image"], "seconds": seconds,
            "health_check": "none" if check.get("Test") in (None, ["NONE"]) else f"every {check['Interval'] / 1e9:g} s",
            "core_share": round(share, 5)}


def gateway_cost(function: str, connections: list[int], duration: float, rounds: int, quiet: bool) -> dict[str, Any]:
    """wrk through the gateway and straight to the replica, interleaved; medians over rounds."""
    cid = replica(function)
    platform = [container_id(c) for c in PLATFORM]
    paths = {"gateway": (netns(platform[0]), f"http://127.0.0.1:8080/function/{function}"),
             "direct": (netns(cid), "http://127.0.0.1:8080/")}
    runs: dict[str, list[dict[str, Any]]] = {f"{p}_c{c}": [] for c in connections for p in paths}
    for _ in cli.progress(range(rounds), "gateway rounds", quiet):
        for c in connections:
            for path, (prefix, url) in paths.items():
                before = [cgroup_cpu_seconds(i) for i in platform], cgroup_cpu_seconds(cid)
                r = run_wrk(url, c, duration, prefix=prefix)
                after = [cgroup_cpu_seconds(i) for i in platform], cgroup_cpu_seconds(cid)
                n = max(r["requests"], 1)
                r["platform_cpu_ms_per_request"] = (sum(after[0]) - sum(before[0])) * 1000 / n
                r["replica_cpu_ms_per_request"] = (after[1] - before[1]) * 1000 / n
                runs[f"{path}_c{c}"].append(r)
    keys = ("throughput_rps", "p50_ms", "p99_ms", "error_rate", "platform_cpu_ms_per_request",
            "replica_cpu_ms_per_request")
    median = {k: {m: round(statistics.median(r[m] for r in rs), 4) for m in keys} for k, rs in runs.items()}
    added = {f"c{c}": {"p50_ms": round(median[f"gateway_c{c}"]["p50_ms"] - median[f"direct_c{c}"]["p50_ms"], 4),
                       "p99_ms": round(median[f"gateway_c{c}"]["p99_ms"] - median[f"direct_c{c}"]["p99_ms"], 4),
                       "throughput_ratio": round(median[f"gateway_c{c}"]["throughput_rps"]
                                                 / median[f"direct_c{c}"]["throughput_rps"], 3)}
             for c in connections}
    return {"median": median, "added_by_gateway": added, "runs": runs, "duration_s": duration, "rounds": rounds}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    at_rest = rest_cost(args.function, args.rest)  # first: no wrk run has just ended
    return {"date": cli.now(), "machine": "2 cores, shared with other jobs", "access_log": "on (as deployed)",
            **gateway_cost(args.function, [1, 8], args.duration, args.rounds, args.quiet), "at_rest": at_rest}


def table(result: dict[str, Any]) -> str:
    """The medians on stdout (docs/deploy.md's section renders them from --json: python -m scripts.render)."""
    r = result["at_rest"]
    rows = [f"{key}: {m['throughput_rps']:,.0f} req/s, p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} ms, gateway + "
            f"provider CPU {m['platform_cpu_ms_per_request']:.3f} ms a request" for key, m in result["median"].items()]
    return "\n".join([f"at rest: {r['core_share'] * 100:.2f}% of one core over {r['seconds']:g} s (health check: "
                      f"{r['health_check']})", "wrk, medians of the rounds:", *rows])


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--function", default="device-price", help="the deployed function (default device-price)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved gateway/direct rounds (default 3)")
    p.add_argument("--rest", type=float, default=30.0, help="seconds the replica's CPU at rest is measured (default 30)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", type=Path, help="write the figures here (docs/bench/gateway.json)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return cli.finish("gateway", lambda: measure(args), table, args.json,
                      (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError))


if __name__ == "__main__":
    sys.exit(main())
