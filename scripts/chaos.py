"""Chaos under load: steady load on the two-worker server container (as shipped: access log on)
while one of its workers is killed (SIGKILL) or stopped (SIGSTOP) at seeded random moments;
failed requests per fault.

    python -m scripts.chaos [--minutes 3] [--seed 25] [--clients 16] [--json docs/bench/chaos.json]

How failures are counted. Each client thread sends POST /predict on its own keep-alive
connection, one request at a time (timeout 5 s), and notes when each failed request ended.
A fault's window runs from its signal until the supervisor has replaced the worker and the
health check answers, plus 1 s; a failure that ends within it is the fault's, any other is
unexplained. Just before the signal, the command counts the faulted worker's established TCP
connections (its socket fds, looked up in its network namespace's TCP table, from the host):
each carries at most one request at a time, so that count bounds the requests in flight on that
worker. The goal: per fault, failures <= that count, the worker replaced and the server up;
no unexplained failure; the container still running at the end, its own count of replaced
workers equal to the faults. A stopped worker is found by the supervisor's heartbeat check
(worker_timeout, 30 s as shipped); a killed one at once. Loopback only; bounded by --minutes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from fn.server.settings import BY_NAME
from harness import ROOT, cli, launch
from harness.launch import TARGETS, Clients
from harness.stats import docker_run_metrics, workers_replaced

OUT = ROOT / "docs" / "bench" / "chaos.json"
FAULTS = {"SIGKILL": signal.SIGKILL, "SIGSTOP": signal.SIGSTOP}
SETTLE = 1.0  # seconds of a fault's window after the server is whole again


def worker_pids(container: str, parent: str) -> list[int]:
    """The supervisor's (pid `parent`) children, as the host sees them (the image has no shell: docker top)."""
    rows = [line.split() for line in launch.docker("top", container, "-o", "pid,ppid").splitlines()[1:]]
    return sorted(int(pid) for pid, ppid in rows if ppid == parent)


def established(pid: int) -> int:
    """TCP connections the process holds open (state ESTABLISHED), from the host's /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            count += fields[3] == "01" and fields[9] in inodes
    return count


class Load(Clients):
    """`clients` threads, each one request at a time on its own keep-alive session; the end of
    every failed request is noted (monotonic clock), with what failed."""

    join_seconds = 10.0

    def __init__(self, url: str, clients: int):
        self.url, self.answered, self.failures = url, 0, []
        super().__init__(clients)

    def client(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            try:
                status = session.post(self.url, data=launch.EXAMPLE_BODY, timeout=5,
                                      headers={"Content-Type": "application/json"}).status_code
                what = None if status == 200 else f"HTTP {status}"
            except requests.RequestException as e:
                what = type(e).__name__
                session.close()
                session = requests.Session()  # a new connection: the old one was the faulted worker's
            with self.lock:
                if what is None:
                    self.answered += 1
                else:
                    self.failures.append((time.monotonic(), what))
        session.close()


@dataclass
class Fault:
    kind: str
    pid: int
    at_s: float  # since the load started
    connections: int  # the worker's established connections just before the signal
    replaced_after_s: float | None = None  # None: not replaced within the wait
    up: bool = False  # health answered 200 once it was replaced
    window: tuple[float, float] = (0.0, 0.0)  # monotonic
    failures: list[str] = field(default_factory=list)

    @property
    def within_bound(self) -> bool:
        return self.replaced_after_s is not None and self.up and len(self.failures) <= self.connections


def inflict(container: str, parent: str, url: str, kind: str, rng: random.Random, started: float,
            wait: float) -> Fault:
    """One fault on a random worker; returns once the server is whole again (or `wait` is over)."""
    pid = rng.choice(worker_pids(container, parent))
    fault = Fault(kind, pid, 0.0, established(pid))
    at = time.monotonic()
    os.kill(pid, FAULTS[kind])
    fault.at_s = round(at - started, 3)
    deadline = at + wait
    while time.monotonic() < deadline:
        now = worker_pids(container, parent)
        if pid not in now and len(now) == 2:
            fault.replaced_after_s = round(time.monotonic() - at, 3)
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGCONT)  # not found by the supervisor: let it go on, and say so
    fault.up = launch.status(url + "/_/health") == 200
    time.sleep(SETTLE)
    fault.window = (at, time.monotonic())
    return fault


def supervisor_lines(container: str) -> list[str]:
    """The supervisor's warnings about workers, from the container's log (access lines skipped)."""
    proc = subprocess.Popen(["docker", "logs", container], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = [line.strip() for line in proc.stdout if '"level": "warning"' in line and "worker " in line]
    proc.wait()
    return lines


def chaos(image: str, name: str, minutes: float, seed: int, clients: int, gap: tuple[float, float],
          worker_timeout: float | None) -> dict[str, Any]:
    env = {"access_log": "1", **({"worker_timeout": f"{worker_timeout:g}s"} if worker_timeout else {})}
    timeout = worker_timeout or BY_NAME["worker_timeout"].default_for("baseline")
    container, url, metrics_url = docker_run_metrics(image, name, env)
    rng = random.Random(seed)
    faults: list[Fault] = []
    try:
        launch.wait_for_prediction(url + TARGETS["server"].predict_path, timeout=30)
        parent = launch.docker("inspect", "-f", "{{.State.Pid}}", container)
        with Load(url + TARGETS["server"].predict_path, clients) as load:
            started = time.monotonic()
            end = started + minutes * 60
            while time.monotonic() + gap[1] + timeout < end:
                time.sleep(rng.uniform(*gap))
                kind = rng.choice(sorted(FAULTS))
                faults.append(inflict(container, parent, url, kind, rng, started, timeout + 15))
                print(f"{kind} worker {faults[-1].pid} at {faults[-1].at_s:.1f} s: replaced after "
                      f"{faults[-1].replaced_after_s} s", file=sys.stderr)
            time.sleep(max(0.0, end - time.monotonic()))
            seconds = time.monotonic() - started
        running = launch.docker("inspect", "-f", "{{.State.Running}}", container) == "true"
        replaced = workers_replaced(metrics_url) if running else None
        lines = supervisor_lines(container)
    finally:
        launch.stop_container(container)
    unexplained = []
    for at, what in load.failures:
        owner = next((f for f in faults if f.window[0] <= at <= f.window[1]), None)
        (owner.failures if owner else unexplained).append(what)
    result = {
        "image": image, "seed": seed, "clients": clients, "seconds": round(seconds, 1),
        "worker_timeout_s": timeout, "access_log": True, "answered": load.answered,
        "failed": len(load.failures), "unexplained_failures": unexplained,
        "faults": [{**{k: v for k, v in asdict(f).items() if k != "window"}, "failed": len(f.failures),
                    "within_bound": f.within_bound} for f in faults],
        "running_at_end": running, "workers_replaced": replaced, "supervisor_log": lines,
    }
    result["passed"] = (bool(faults) and all(f.within_bound for f in faults) and not unexplained and running
                        and replaced == len(faults))
    return result


def table(result: dict[str, Any]) -> str:
    """One row per fault (markdown)."""
    def row(f: dict[str, Any]) -> str:
        return (f"| {f['kind']} | {f['at_s']:.1f} | {f['connections']} | {f['failed']} | {f['replaced_after_s']} | "
                f"{'200' if f['up'] else 'down'} | {'yes' if f['within_bound'] else 'NO'} |")

    return "\n".join(["| fault | at s | worker's connections | failed | replaced after s | health | within bound |",
                      "|---|---|---|---|---|---|---|", *map(row, result["faults"])])


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--minutes", type=float, default=3, help="minutes of load (default 3)")
    parser.add_argument("--seed", type=int, default=25, help="seeds the faults' moments, kinds and workers")
    parser.add_argument("--clients", type=int, default=16, help="client threads, one connection each (default 16)")
    parser.add_argument("--gap", type=float, nargs=2, default=(3.0, 10.0), metavar=("MIN", "MAX"),
                        help="seconds between one fault's end and the next (uniform; default 3 10)")
    parser.add_argument("--worker-timeout", type=float, help="seconds (default: the image's, as shipped)")
    parser.add_argument("--image", default=TARGETS["server"].image, help="the server image (default %(default)s)")
    parser.add_argument("--name", default="device-price-chaos", help="the container's name (default %(default)s)")
    parser.add_argument("--note", help="said in the JSON (the machine shared, say)")
    parser.add_argument("--json", type=Path, default=OUT, help="where to write the results")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.clients < 1 or not 0 <= args.gap[0] <= args.gap[1]:
        parser.error("--minutes and --clients must be positive, and --gap MIN <= MAX")
    result = chaos(args.image, args.name, args.minutes, args.seed, args.clients, tuple(args.gap), args.worker_timeout)
    print(table(result))
    print(f"{result['answered']} answered, {result['failed']} failed ({len(result['unexplained_failures'])} outside "
          f"every fault's window) in {result['seconds']:g} s; {result['workers_replaced']} workers replaced for "
          f"{len(result['faults'])} faults; {'PASS' if result['passed'] else 'FAIL'}")
    cli.write_json(args.json, {"date": cli.now(),
                               **({"note": args.note} if args.note else {}), **result})
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
