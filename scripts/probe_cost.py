"""The health check's trade-off: probe and interval against the scale-from-zero cold start and what
an idle replica spends on being watched.

    python -m scripts.probe_cost [--image device-price-fn:latest] [--runs 5] [--idle 30]
                                 [--interval 1s --interval 250ms ...] [--json docs/bench/probe_cost.json]

Docker 20.10 runs a container's first check one interval after it starts (it has no start interval),
and swarm routes to a task only once a check has passed: so the interval bounds what the check adds
to a cold start, and every replica, idle or not, runs the check once per interval for ever.

For each probe and interval, an image FROM --image with only its HEALTHCHECK changed:
- probes: `c`, the server image's own (probe/health.c, /usr/local/bin/health, in both images);
  `python`, a check as the images had it before, one interpreter start (python3 -S) per check,
  asking /_/ready the same way; `none`, no check at all (HEALTHCHECK NONE; the interval does not
  apply), as the function image ships: swarm then reports the task running, and routes to it, as
  soon as its process starts, and the image's entrypoint (launcher/listen_first.c) has bound the
  port by then, so a request waits in the backlog while the model loads.
- each is deployed on Docker's swarm mode as faas-swarm deploys stack.yml's function, behind the
  gateway stand-in (harness/swarm.py, harness/gateway_standin.py), and:
  - woken from zero --runs times by one request (harness/swarm.py wake): the median seconds to the
    first 200 and to the replica's first passing check, and how many wakes were refused (a 502:
    the request reached the task before it listened);
  - left idle with one replica for --idle seconds: the CPU its cgroup used (the service and every
    check, which runs inside it) and that Docker's daemons used meanwhile (dockerd, containerd and
    the shims carry out each check as an exec), each as % of one core. The daemons' share also
    holds whatever else the engine did then: run it on a quiet machine.
In the same run, interleaved with the wakes: `docker run` -> first 200 of --image as shipped (the
floor a woken replica is measured against). Prints the rows and writes --json, from which
`python -m scripts.render` renders docs/deploy.md's health-check section.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import cli, launch, swarm
from harness.stats import cgroup_cpu_seconds, cpu_seconds, spread

PYTHON_CHECK = (r"import _socket,sys;s=_socket.socket();s.settimeout(2);s.connect(('127.0.0.1',8080));"
                r"s.sendall(b'GET /_/ready HTTP/1.0\r\n\r\n');sys.exit(0 if s.recv(64)[9:12]==b'200' else 1)")
PROBES = {"c": json.dumps(["/usr/local/bin/health"]),
          "python": json.dumps(["/usr/bin/python3", "-S", "-c", PYTHON_CHECK]), "none": None}
INTERVALS = ("1s", "500ms", "250ms", "100ms")
DAEMONS = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "runc")


def variant(image: str, probe: str, interval: str) -> str:
    """--image with only its HEALTHCHECK changed, as a local tag of this run."""
    tag = f"device-price-probe:{probe}-{interval}"
    with tempfile.TemporaryDirectory() as context:
        check = ("NONE" if PROBES[probe] is None else
                 f"--interval={interval} --timeout=2s --start-period=30s --retries=3 CMD {PROBES[probe]}")
        (Path(context) / "Dockerfile").write_text(f"FROM {image}\nHEALTHCHECK {check}\n")
        launch.docker("build", "-q", "-t", tag, context)
    return tag


def daemon_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in DAEMONS:
                pids.append(int(comm.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return pids


def idle_cpu(name: str, seconds: float) -> dict[str, float]:
    """% of one core the one replica's cgroup and Docker's daemons used over `seconds` of idling."""
    swarm.wait_running(name)
    time.sleep(2)  # past the start's own work
    (cid,) = launch.function_containers(name)  # the one wait_running waited for; its full id names its cgroup
    daemons = daemon_pids()
    before, engine_before, started = cgroup_cpu_seconds(cid), cpu_seconds(daemons), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return {"replica_pct": round(100 * (cgroup_cpu_seconds(cid) - before) / elapsed, 3),
            "daemons_pct": round(100 * (cpu_seconds(daemons) - engine_before) / elapsed, 3)}


def measure(args: argparse.Namespace, function: dict[str, Any]) -> dict[str, Any]:
    rows, floor = [], []
    combos = [(p, i) for p in args.probe for i in (args.interval if PROBES[p] else ["never"])]
    with swarm.Swarm(), swarm.StandIn(args.image) as gateway:
        for probe, interval in cli.progress(combos, "probes × intervals", args.quiet):
            name = f"device-price-probe-{probe}-{interval}"
            swarm.remove(name)
            swarm.deploy(name, variant(args.image, probe, interval), function)
            try:
                wakes, refused = [], []
                for _ in range(args.runs):
                    try:
                        wakes.append(swarm.wake(gateway.url, name, gateway.logs))
                    except RuntimeError as e:  # the waking call's answer was not a 200
                        refused.append(str(e))
                    floor.append(launch.time_docker(args.image)["seconds"])
                checks = [w["breakdown_s"]["healthy"] for w in wakes if w["breakdown_s"]["healthy"] is not None]
                rows.append({"probe": probe, "interval": interval,
                             "scale_from_zero_s": statistics.median(w["seconds"] for w in wakes) if wakes else None,
                             "healthy_s": statistics.median(checks) if checks else None,
                             "refused": len(refused), **idle_cpu(name, args.idle), "runs": wakes, "refusals": refused})
            finally:
                swarm.remove(name)
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "image": args.image, "idle_s": args.idle,
            "docker_run_s": spread(floor), "rows": rows}


def table(result: dict[str, Any]) -> str:
    """The rows on stdout (docs/deploy.md's health-check section renders them from --json in Markdown:
    python -m scripts.render)."""
    floor = result["docker_run_s"]
    lines = [f"`docker run` -> first 200 of {result['image']}: {floor['median']:.2f} s (median of {floor['n']})",
             f"{'probe':<8}{'interval':<10}{'woken s':>9}{'check s':>9}{'refused':>9}{'idle %':>8}{'daemons %':>11}"]
    for r in result["rows"]:
        woken, check = (f"{v:.2f}" if v is not None else "-" for v in (r["scale_from_zero_s"], r["healthy_s"]))
        lines.append(f"{r['probe']:<8}{r['interval']:<10}{woken:>9}{check:>9}{r['refused']:>9}"
                     f"{r['replica_pct']:>8.2f}{r['daemons_pct']:>11.2f}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--image", default="device-price-fn:latest", help="the function image (default: make image-fn's)")
    p.add_argument("--probe", action="append", choices=tuple(PROBES), help="a probe (repeat; default both)")
    p.add_argument("--interval", action="append", help=f"an interval (repeat; default {', '.join(INTERVALS)})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--runs", type=int, default=5, help="wakes per probe and interval (default 5)")
    p.add_argument("--idle", type=float, default=30.0, help="seconds of idling measured (default 30)")
    p.add_argument("--json", type=Path, help="write the rows here (docs/bench/probe_cost.json)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.probe, args.interval = args.probe or list(PROBES), args.interval or list(INTERVALS)
    if not launch.docker("images", "-q", args.image, check=False):
        print(f"probe_cost: {args.image} is not built (make image-fn)", file=sys.stderr)
        return 1
    return cli.finish("probe_cost", lambda: measure(args, swarm.stack_function()), table, args.json,
                      (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError))


if __name__ == "__main__":
    sys.exit(main())
