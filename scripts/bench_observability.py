"""What metrics and the JSON access log cost in req/s at 8 connections: the function and the
server as shipped against the same with both off, in one run, interleaved round by round.

    python -m scripts.bench_observability [--runs 7] [--duration 4] [--containers] [--json docs/bench/observability.json]

The servers run as processes pinned to CPU 1 and wrk to CPU 0, so that the two do not trade
cores from run to run (unpinned, 8-second runs of one configuration here spread from 1,355 to
3,305 req/s, far more than the effect measured); the access log goes to /dev/null. With
--containers, the images as users run them (read-only, host network, pinned to CPU 1), the log
through Docker's log driver (dockerd is not pinned: it takes its CPU where it finds it). The
goal is less than 5% lost with both on.
"""

from __future__ import annotations

import os
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli, launch
from scripts.bench_concurrency import CONFIGURATIONS
from scripts.bench_replica import start
from scripts.loadtest import run_wrk
from scripts.targets import TARGETS

OUT = launch.ROOT / "docs" / "bench" / "observability.json"
PAIRS = {"function": ("function (shipped: 1 worker, 1 thread)",
                      "function, observability off (no metrics, no access log)"),
         "server": ("server (shipped: 2 workers, 1 thread each)",
                    "server, observability off (no metrics, no access log)")}
SERVER_CPU, CLIENT_CPU = 1, 0
PROCESSES = f"processes pinned to CPU {SERVER_CPU}, wrk -t1 -c8 pinned to CPU {CLIENT_CPU}, access log to /dev/null"
CONTAINERS = (f"containers (read-only, host network) pinned to CPU {SERVER_CPU}, wrk -t1 -c8 pinned to CPU {CLIENT_CPU}, "
              "access log through Docker's json-file log driver")


def family(pid: int) -> list[int]:
    """A process and its children (the server's workers), from /proc."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [pid] + [p for kid in kids for p in family(kid)]


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--runs", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run (default 4)")
    parser.add_argument("--containers", action="store_true", help="the images instead of processes")
    parser.add_argument("--json", type=Path, help="where to write the results (default docs/bench/observability.json, "
                                                  "or observability-containers.json)")
    args = parser.parse_args(argv)
    args.json = args.json or (OUT.with_name("observability-containers.json") if args.containers else OUT)
    pinned = (os.cpu_count() or 1) > 1
    if pinned:
        os.sched_setaffinity(0, {CLIENT_CPU})
    names = [name for pair in PAIRS.values() for name in pair]
    procs = {}
    runs: dict[str, list[float]] = {name: [] for name in names}
    try:
        for i, name in enumerate(names):
            target, env = CONFIGURATIONS[name]
            if args.containers:
                container, url = start(target, f"device-price-observability-{i}", {"access_log": "1", **env})
                procs[name] = container, url + TARGETS[target].predict_path
                continue
            proc, url = launch.serve_process(TARGETS[target], {"drain_delay": "0", **env})
            if pinned:
                for pid in family(proc.pid):
                    os.sched_setaffinity(pid, {SERVER_CPU})
            procs[name] = proc, url + TARGETS[target].predict_path
        for _ in cli.progress(list(range(args.runs)), "rounds"):
            for name in names:
                runs[name].append(run_wrk(procs[name][1], 8, args.duration, threads=1)["throughput_rps"])
    finally:
        for proc, _ in procs.values():
            if args.containers:
                launch.stop_container(proc)
            else:
                launch.stop_process(proc)
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "configuration": CONTAINERS if args.containers else PROCESSES if pinned else "processes, unpinned (one CPU)",
              "duration_s": args.duration, "runs": args.runs, **summary(runs)}
    for kind, (on, off) in PAIRS.items():
        low, high = result["paired_loss_interval"][kind]
        print(f"{kind}: {result['median_rps'][on]:,.0f} req/s with metrics and JSON access log, "
              f"{result['median_rps'][off]:,.0f} without: {result['loss'][kind]:+.1%} lost (goal < 5%); "
              f"round by round {result['paired_loss'][kind]:+.1%}, 95% interval {low:+.1%} to {high:+.1%}")
    cli.write_json(args.json, result)
    return 0


def summary(runs: dict[str, list[float]], draws: int = 5000) -> dict:
    """Medians and the loss with both on: the ratio of the medians, and the median of the rounds'
    own ratios (each round runs on and off within seconds of each other) with a bootstrap 95%
    interval, which says how far this machine's noise leaves the figure open."""
    import numpy as np

    rng = np.random.default_rng(0)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    paired, interval = {}, {}
    for kind, (on, off) in PAIRS.items():
        ratios = np.array(runs[on]) / np.array(runs[off])
        paired[kind] = float(1 - np.median(ratios))
        resampled = [1 - np.median(ratios[rng.integers(0, len(ratios), len(ratios))]) for _ in range(draws)]
        interval[kind] = [float(v) for v in np.percentile(resampled, [2.5, 97.5])]
    return {"median_rps": medians, "rps": runs,
            "loss": {kind: 1 - medians[on] / medians[off] for kind, (on, off) in PAIRS.items()},
            "paired_loss": paired, "paired_loss_interval": interval}


if __name__ == "__main__":
    sys.exit(main())
