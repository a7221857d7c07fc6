"""A measurement's figures: how its runs are taken, what it reads off the machine and how it sums
them up. The CPU-pinning rule (a replica's core and the clients' core) and the rounds every cold
start is measured in (targets interleaved, A B A B ..., so that the machine's drift spreads over
all of them); the CPU time of processes and of containers, a container's memory, the hypervisor's
steal (Linux's /proc and cgroups, and the Docker CLI), a program's instructions (valgrind), and a
cold start's steps (Docker's events and the gateway's log); then percentiles, medians over runs
and one bootstrap. Standard library only at import: the cold-start command runs under a bare
python3."""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from fn.server.settings import BY_NAME
from harness import cli, launch

# On a machine of two cores or more, a measured server owns one core and the load its clients
# put on it runs on another, so that neither takes from the other's time.
REPLICA_CPU = 1
CLIENT_CPU = 0


def pin(pid: int = 0, cpu: int = CLIENT_CPU) -> None:
    """A process (default this one, and what it starts from now on) on `cpu`; nothing on one core."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {cpu})


@contextmanager
def held_to(cpu: int, pids: list[int]) -> Iterator[bool]:
    """Every thread of these processes on `cpu` (threads they start inherit it), put back as it
    was afterwards; False if this process may not move them (not root)."""
    moved, held = {}, True
    try:
        for pid in pids:
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with suppress(ProcessLookupError):  # a thread gone meanwhile
                    moved[int(task.name)] = os.sched_getaffinity(int(task.name))
                    os.sched_setaffinity(int(task.name), {cpu})
    except PermissionError:
        held = False
    try:
        yield held
    finally:
        everywhere = set(range(os.cpu_count() or 1))
        for pid in pids:
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with suppress(ProcessLookupError, PermissionError):
                    os.sched_setaffinity(int(task.name), moved.get(int(task.name), everywhere))


# -- processes ------------------------------------------------------------------------------

def family(pid: int) -> list[int]:
    """A process and its children (the server's workers), from /proc."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [pid] + [p for kid in kids for p in family(kid)]


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by every thread of these processes (schedstat counts nanoseconds)."""
    total = 0
    for pid in pids:
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError, IndexError):  # a thread gone meanwhile
                pass
    return total / 1e9


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes, from /proc."""
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def steal_percent(seconds: float) -> float:
    """CPU time stolen by the hypervisor while sleeping `seconds` (noise on a shared host)."""
    def read() -> list[int]:
        return [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    a = read()
    time.sleep(seconds)
    b = read()
    total = sum(b) - sum(a)
    return 100 * (b[7] - a[7]) / total if total else 0.0


def instructions(argv: list[str], env: dict[str, str] | None = None) -> int:
    """The instructions a program runs, counted by valgrind's callgrind: the same for the same
    program whatever else the machine does (a clock is not; Debian's valgrind package)."""
    try:
        done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                              capture_output=True, text=True, env=env)
    except FileNotFoundError:
        raise RuntimeError("valgrind is not installed (apt-get install valgrind)") from None
    counted = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or counted is None:
        raise RuntimeError(f"{' '.join(argv[:3])} under valgrind exited {done.returncode}: {done.stderr[-500:]}")
    return int(counted.group(1))


# -- containers -----------------------------------------------------------------------------

def container_id(name: str) -> str:
    return launch.docker("inspect", "-f", "{{.Id}}", name)


def container_pid(name: str) -> int:
    """The host pid of a container's first process."""
    return int(launch.docker("inspect", "-f", "{{.State.Pid}}", name))


def memory_mb(name: str) -> float:
    """The container's memory use as `docker stats` reports it (cgroup usage less page cache)."""
    out = launch.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name).split("/")[0].strip()
    number, unit = float(out.rstrip("KMGiB")), out.lstrip("0123456789.")
    return number * {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0, "kB": 1 / 1000, "MB": 1.0, "GB": 1000.0}[unit]


def cgroup_cpu_seconds(cid: str) -> float:
    """CPU seconds a container's cgroup has used (its processes and everything `docker exec` ran
    in it, health checks included), cgroup v1 (cgroupfs driver) or v2."""
    for path, scale in ((f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage", 1e-9),
                        (f"/sys/fs/cgroup/cpu,cpuacct/docker/{cid}/cpuacct.usage", 1e-9)):
        if os.path.exists(path):
            return int(Path(path).read_text()) * scale
    for path in (f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat", f"/sys/fs/cgroup/docker/{cid}/cpu.stat"):
        if os.path.exists(path):
            stats = dict(line.split() for line in Path(path).read_text().splitlines())
            return int(stats["usage_usec"]) * 1e-6
    raise RuntimeError(f"no cgroup CPU accounting found for container {cid[:12]}")


def docker_run_metrics(image: str, name: str, env: dict[str, str]) -> tuple[str, str, str]:
    """docker_run with the image's metrics port published too: (name, base URL, metrics URL)."""
    port = launch.free_port()
    inside = BY_NAME["metrics_port"].default_for(launch.image_target(image).module)
    name, url = launch.docker_run(image, name, env, extra=("-p", f"127.0.0.1:{port}:{inside}"))
    return name, url, f"http://127.0.0.1:{port}/metrics"


def workers_replaced(metrics_url: str) -> int:
    """How many workers the server's supervisor has replaced since it started (its own count)."""
    from prometheus_client.parser import text_string_to_metric_families  # here: the rest is standard library

    _, text = launch.http("GET", metrics_url, timeout=10)
    return int(sum(s.value for family in text_string_to_metric_families(text.decode()) for s in family.samples
                   if s.name == "device_price_workers_replaced_total"))


# -- a cold start's steps -------------------------------------------------------------------

CALL_TIMEOUT_S = 60.0  # a caller's patience: well past the platform's own waits (Go's 5 s resolver retry)
BREAKDOWN = ("created", "started", "healthy", "ready", "first_200")
READY_LINE = re.compile(r"\[Ready\] function=(?P<name>\S+) waited for - (?P<s>[\d.]+)s")


def container_logs(container: str, since: float | None = None) -> str:
    """A container's log with Docker's timestamps, both streams (Go's log package writes to stderr)."""
    proc = subprocess.run(["docker", "logs", "--timestamps", *(["--since", f"{since:.3f}"] if since else []),
                           container], capture_output=True, text=True)
    return proc.stdout + proc.stderr


def events(function: str, since: float, until: float) -> list[tuple[str, float]]:
    """(action, unix time) of the function's container events in the window, oldest first."""
    out = launch.docker("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--filter", "type=container",
                        "--filter", f"label={launch.FUNCTION_LABEL}={function}", "--format", "{{json .}}")
    found = [json.loads(line) for line in out.splitlines() if line.strip()]
    return sorted(((e.get("status") or e.get("Action", ""), e["timeNano"] / 1e9) for e in found), key=lambda x: x[1])


def ready_at(gateway_logs: str, function: str, since: float) -> float | None:
    """The unix time of the gateway's first `[Ready] function=NAME` line after `since`."""
    for line in gateway_logs.splitlines():
        stamp, _, text = line.partition(" ")
        match = READY_LINE.search(text)
        if match and match["name"] == function:
            at = datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
            if at >= since:
                return at
    return None


def _ready_logged_at(gateway_logs: Callable[[float], str], function: str, sent: float,
                     wait_s: float = 2.0) -> float | None:
    """When the gateway logged `[Ready]` for `function` after `sent`. Docker's log driver writes a
    line a little after the process printed it, so a log read right after the answer may not hold
    it yet: the log is read again for up to `wait_s`."""
    deadline = time.monotonic() + wait_s
    while (at := ready_at(gateway_logs(sent - 1), function, sent)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return at


def breakdown(function: str, sent: float, answered: float,
              gateway_logs: Callable[[float], str]) -> dict[str, float | None]:
    """Seconds from the request's sending to each step of the start it caused (container created,
    started, healthy, the gateway's `[Ready]`, the first 200); `gateway_logs(since)` gives the
    gateway's log with timestamps."""
    seen = events(function, sent, answered + 1)
    first = {action: at for action, at in reversed(seen)}  # the earliest of each kind
    steps = {"created": first.get("create"), "started": first.get("start"),
             "healthy": first.get("health_status: healthy"), "ready": _ready_logged_at(gateway_logs, function, sent),
             "first_200": answered}
    return {k: None if v is None else round(v - sent, 4) for k, v in steps.items()}


# -- summaries ------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def spread(values: list[float]) -> dict[str, float]:
    """n, min, median, p90, max."""
    return {"n": len(values), "min": min(values), "median": statistics.median(values),
            "p90": percentile(values, 90), "max": max(values)}


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-figure median over several runs (each run kept alongside by the callers)."""
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def bootstrap(values: Any, draws: int = 5000, rng: Any = None) -> list[float]:
    """The 95% bootstrap interval of the median of `values` (resampled with replacement `draws`
    times; `rng` a numpy Generator, default seeded 0 so a rerun on the same data agrees)."""
    import numpy as np  # here: the rest of this module runs under a bare python3

    values = np.asarray(values)
    rng = np.random.default_rng(0) if rng is None else rng
    medians = [np.median(values[rng.integers(0, len(values), len(values))]) for _ in range(draws)]
    return [float(v) for v in np.percentile(medians, [2.5, 97.5])]


# -- rounds ---------------------------------------------------------------------------------

def interleave(targets: list[str], runs: int) -> list[str]:
    """A B A B ...: each round runs every target once."""
    return [t for _ in range(runs) for t in targets]


def measure(order: list[str], one: Callable[[str], dict[str, Any]], quiet: bool = False) -> dict[str, list[dict]]:
    """`one(target)` for each target of `order`, timed by `one`; the runs by target."""
    runs: dict[str, list[dict]] = {t: [] for t in dict.fromkeys(order)}
    for target in cli.progress(order, "cold starts", quiet):
        runs[target].append(one(target))
    return runs


def result(mode: str, found: dict[str, list[dict]], extra: dict[str, Any] | None = None,
           keep_runs: bool = True) -> dict[str, Any]:
    """A cold-start mode's result: its runs (unless the mode keeps them per way, in `extra`) and
    their spread, dated."""
    out = {"mode": mode, "date": cli.now(), **(extra or {}),
           "stats": {t: spread([r["seconds"] for r in rs]) for t, rs in found.items()}}
    if keep_runs:
        out["runs"] = found
    return out
