"""What metrics and the JSON access log cost in req/s at 8 connections: the function and the
server as shipped against the same with both off, in one run.

    python -m scripts.bench_observability [--runs 30] [--duration 3] [--containers] [--json docs/bench/observability.json]

On and off run at the same time, both pinned to CPU 1, each loaded by its own wrk -t1 -c8
pinned to CPU 0. The kernel gives each half of the core, so the ratio of their req/s is the
ratio of what a request costs each, and whatever else this machine does in that second (its
host takes up to a fifth of a core here, and one configuration run alone spread from 1,190 to
2,637 req/s in a sitting) falls on both alike. The loss is the median of the rounds' own
ratios, with a bootstrap 95% interval. The goal is less than 5% lost with both on.

The servers run as processes with the access log to /dev/null, or with --containers as users
run them (read-only, host network), the log through Docker's json-file driver. The log
driver (dockerd, containerd and its shims) is held to CPU 0 for the rounds, as on a node whose
runtime has a core to spare (left free, it would land on the replicas' core now and then and
take from on and off alike, hiding its cost). --containers also measures what the driver
spends per line (its CPU time over the rounds, from /proc, less what it spends idle) against
what the container spends per request, and gives the loss as if the two had to share the
replica's core: the worst case, on a node with no core to spare.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import ROOT, cli, launch, stats
from harness.launch import TARGETS
from harness.load import CONFIGURATIONS, PAIRS, run_wrk
from harness.stats import CLIENT_CPU, bootstrap, cpu_seconds, family, held_to, pin
from harness.stats import REPLICA_CPU as SERVER_CPU

OUT = ROOT / "docs" / "bench" / "observability.json"
AT_ONCE = f"on and off at once, both pinned to CPU {SERVER_CPU}, each with its own wrk -t1 -c8 pinned to CPU {CLIENT_CPU}"
PROCESSES = f"processes, {AT_ONCE}, access log to /dev/null"
CONTAINERS = f"containers (read-only, host network), {AT_ONCE}, access log through Docker's json-file log driver"
# The processes that carry a container's log lines to its log file (comm, cut at 15 characters).
LOG_DRIVER = ("dockerd", "containerd", "containerd-shim")


def log_driver_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip().startswith(LOG_DRIVER):
                pids.append(int(comm.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return pids


def driver_rate(pids: list[int], seconds: float = 5.0) -> float:
    """CPU seconds per second the log driver spends with no lines to carry (its housekeeping)."""
    before = cpu_seconds(pids)
    time.sleep(seconds)
    return (cpu_seconds(pids) - before) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--runs", type=int, default=30, help="rounds (default 30)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per round (default 3)")
    parser.add_argument("--containers", action="store_true", help="the images instead of processes")
    parser.add_argument("--json", type=Path, help="where to write the results (default docs/bench/observability.json, "
                                                  "or observability-containers.json)")
    args = parser.parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        parser.error("needs two CPUs: one for the servers, one for the load")
    args.json = args.json or (OUT.with_name("observability-containers.json") if args.containers else OUT)
    pin(0, CLIENT_CPU)
    names = [name for pair in PAIRS.values() for name in pair]
    procs, pids, urls = {}, {}, {}
    runs: dict[str, list[float]] = {name: [] for name in names}
    cpu = {name: 0.0 for name in names}  # CPU seconds each spent in the rounds
    driver = {kind: 0.0 for kind in PAIRS}  # CPU seconds the log driver spent while each pair ran
    try:
        for i, name in enumerate(names):
            target, env = CONFIGURATIONS[name]
            if args.containers:
                procs[name], url = launch.docker_run_pinned(target, f"device-price-observability-{i}", SERVER_CPU,
                                                             {"access_log": "1", **env})
                pids[name] = family(stats.container_pid(procs[name]))
            else:
                procs[name], url = launch.serve_process(TARGETS[target], {"drain_delay": "0", **env})
                pids[name] = family(procs[name].pid)
                for pid in pids[name]:
                    pin(pid, SERVER_CPU)
            urls[name] = url + TARGETS[target].predict_path
        daemons = log_driver_pids() if args.containers else []
        with ThreadPoolExecutor(2) as pool, held_to(CLIENT_CPU, daemons) as held:
            idle = driver_rate(daemons) if args.containers else 0.0
            for _ in cli.progress(list(range(args.runs)), "rounds"):
                for kind, pair in PAIRS.items():
                    before = {name: cpu_seconds(pids[name]) for name in pair}, cpu_seconds(daemons), time.monotonic()
                    loads = {name: pool.submit(run_wrk, urls[name], 8, args.duration, threads=1) for name in pair}
                    for name in pair:
                        runs[name].append(loads[name].result()["throughput_rps"])
                        cpu[name] += cpu_seconds(pids[name]) - before[0][name]
                    # what it spent on these lines: less what it spends with no lines to carry
                    driver[kind] += cpu_seconds(daemons) - before[1] - idle * (time.monotonic() - before[2])
    finally:
        for proc in procs.values():
            if args.containers:
                launch.stop_container(proc)
            else:
                launch.stop_process(proc)
    result = {"date": cli.now(),
              "configuration": (CONTAINERS + (f", the log driver held to CPU {CLIENT_CPU}" if held else ", the log driver "
                                               "unpinned (not root)")) if args.containers else PROCESSES,
              "duration_s": args.duration, "runs": args.runs, **summary(runs)}
    requests = {name: sum(runs[name]) * args.duration for name in names}
    result["cpu_us_per_request"] = {name: cpu[name] / requests[name] * 1e6 for name in names}
    if args.containers:
        result["log_driver"] = log_driver(result, driver, requests)
    for kind, (on, off) in PAIRS.items():
        low, high = result["paired_loss_interval"][kind]
        line = (f"{kind}: {result['median_rps'][on]:,.0f} req/s with metrics and JSON access log, "
                f"{result['median_rps'][off]:,.0f} without, at once on one core: {result['paired_loss'][kind]:+.1%} "
                f"lost (95% interval {low:+.1%} to {high:+.1%}; goal < 5%)")
        if args.containers:
            d = result["log_driver"][kind]
            line += (f"; the log driver {d['us_per_line']:.1f} µs per line, {d['share']:.1%} of a request: "
                     f"{d['loss']:+.1%} lost ({d['interval'][0]:+.1%} to {d['interval'][1]:+.1%}) if it shared the core")
        print(line)
    cli.write_json(args.json, result)
    return 0


def summary(runs: dict[str, list[float]], draws: int = 5000) -> dict:
    """Medians, and the loss with both on: the median of the rounds' own ratios (on and off ran
    together) with a bootstrap 95% interval."""
    import numpy as np

    rng = np.random.default_rng(0)
    paired, interval = {}, {}
    for kind, (on, off) in PAIRS.items():
        ratios = np.array(runs[on]) / np.array(runs[off])
        paired[kind] = float(1 - np.median(ratios))
        low, high = bootstrap(ratios, draws, rng)  # of the ratio's median: the loss is 1 less it
        interval[kind] = [1 - high, 1 - low]
    return {"median_rps": {name: statistics.median(values) for name, values in runs.items()}, "rps": runs,
            "paired_loss": paired, "paired_loss_interval": interval}


def log_driver(result: dict, driver: dict[str, float], requests: dict[str, float]) -> dict:
    """The log driver's CPU per line of the on server (the off one writes none), as a share of
    the container's CPU per request, and the loss if the two shared the replica's core:
    1 - (1 - loss) * c / (c + d)."""
    out = {}
    for kind, (on, _) in PAIRS.items():
        d = driver[kind] / requests[on] * 1e6
        c = result["cpu_us_per_request"][on]

        def shared(loss: float, c: float = c, d: float = d) -> float:
            return 1 - (1 - loss) * c / (c + d)

        out[kind] = {"us_per_line": d, "share": d / c, "loss": shared(result["paired_loss"][kind]),
                     "interval": [shared(v) for v in result["paired_loss_interval"][kind]]}
    return out


if __name__ == "__main__":
    sys.exit(main())
