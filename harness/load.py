"""Load on a prediction endpoint: the server configurations the benchmarks compare under it, one
wrk driver (a timed closed loop, or Poisson arrivals at a rate: the open loop; run on the host or
inside a container's network namespace), one Python client (N requests, C in flight), one
sequential timer (one keep-alive connection, back to back), and the concurrency benchmark's table.
Closed-loop clients as threads are harness/launch.py's `Clients`.

Standard library only at import (requests is imported by the Python client alone).
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.launch import EXAMPLE_BODY
from harness.stats import container_pid, percentile

PERCENTILES = (50, 90, 99)

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
# The shipped configuration of each target against the same with observability off.
PAIRS = {"function": ("function (shipped: 1 worker, 1 thread)",
                      "function, observability off (no metrics, no access log)"),
         "server": ("server (shipped: 2 workers, 1 thread each)",
                    "server, observability off (no metrics, no access log)")}


def summarise(latencies: list[float], errors: int, total: int, elapsed: float) -> dict[str, Any]:
    """Latencies in seconds -> the report's figures (ms, req/s, error rate)."""
    ok = latencies or [float("nan")]
    return {
        "requests": total,
        "errors": errors,
        "error_rate": errors / total if total else 0.0,
        "total_s": elapsed,
        "throughput_rps": total / elapsed if elapsed else 0.0,
        "avg_ms": statistics.fmean(ok) * 1000,
        "max_ms": max(ok) * 1000,
        **{f"p{p}_ms": percentile(ok, p) * 1000 for p in PERCENTILES},
    }


def python_client(url: str, requests_n: int, concurrency: int, body: bytes | None,
                  method: str = "POST") -> dict[str, Any]:
    """N requests, C at a time on keep-alive sessions; any non-200 or exception is an error."""
    import requests  # here, not above: the rest of this module runs under a bare python3

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests_n))

    def worker() -> None:
        nonlocal errors
        with requests.Session() as session:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                started = time.perf_counter()
                try:
                    ok = session.request(method, url, data=body, headers={"Content-Type": "application/json"},
                                         timeout=30).status_code == 200
                except requests.RequestException:
                    ok = False
                took = time.perf_counter() - started
                with lock:
                    if ok:
                        latencies.append(took)
                    else:
                        errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(worker) for _ in range(concurrency)]:
            f.result()
    return summarise(latencies, errors, requests_n, time.perf_counter() - started)


WRK_SCRIPT = """
wrk.method = "%(method)s"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "mean_us": %%f, "max_us": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def parse_wrk(output: str) -> dict[str, Any]:
    """wrk's stdout (with the WRKJSON line our script prints) -> figures."""
    line = next((ln for ln in output.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
    raw = json.loads(line[len("WRKJSON "):])
    seconds = raw["duration_us"] / 1e6
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "duration_s": seconds,
        "throughput_rps": raw["requests"] / seconds if seconds else 0.0,
        "non2xx": raw["status"],
        "socket_errors": socket_errors,
        "error_rate": (raw["status"] + socket_errors) / raw["requests"] if raw["requests"] else 1.0,
        "avg_ms": raw["mean_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        **{f"p{p}_ms": raw[f"p{p}_us"] / 1000 for p in PERCENTILES},
    }


def _wrk(script: str, url: str, connections: int, threads: int, duration: float, timeout: str,
         prefix: tuple[str, ...] = ()) -> str:
    """wrk with a Lua script (written to a temporary file for the run); its stdout."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        return subprocess.run([*prefix, "wrk", "-t", str(threads), "-c", str(connections),
                               "-d", f"{max(1, round(duration))}s", "--timeout", timeout, "-s", f.name, url],
                              capture_output=True, text=True, timeout=duration + 60).stdout
    finally:
        Path(f.name).unlink()


def run_wrk(url: str, connections: int, duration: float, threads: int = 2, method: str = "POST",
            body: bytes | None = None, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """wrk against url, a closed loop; `prefix` runs it through another command (nsenter into a
    container's network)."""
    payload = (body if body is not None else EXAMPLE_BODY).decode()
    threads = min(threads, connections)
    result = parse_wrk(_wrk(WRK_SCRIPT % {"method": method, "body": payload}, url, connections, threads, duration,
                            "5s", prefix))
    result.update(connections=connections, threads=threads)
    return result


# Open loop: exponential waits per connection, and the latency distribution as 400 quantiles (for the
# simulation, which draws answers from it).
def netns(container: str) -> tuple[str, ...]:
    """A command prefix (run_wrk's `prefix`) that runs a host program inside a container's network
    namespace (nsenter; needs root), so that no published port's proxy is in the path."""
    return ("nsenter", "-t", str(container_pid(container)), "-n")


PACING = """
math.randomseed(%(seed)d)
delay = function() return -math.log(1 - math.random()) * %(mean_ms)f end
"""
QUANTILES = """
local summary = done
done = function(s, latency, r)
  summary(s, latency, r)
  local q = {}
  for i = 1, 400 do q[i] = latency:percentile((i - 0.5) / 4) end
  io.write("WRKQ " .. table.concat(q, ",") .. "\\n")
end
"""


def open_loop(url: str, rate: float | None, duration: float = 15.0, seed: int = 1,
              connections: int | None = None, body: bytes = EXAMPLE_BODY) -> dict[str, Any]:
    """Poisson arrivals at `rate` per second for `duration` seconds: latency percentiles (ms) and
    `quantiles_s`, the distribution as 400 equally likely values. `rate` None: a closed loop,
    each connection sending its next request as soon as the last has answered. Connections: 64,
    fewer at low rates (one per request per second, at least 2) so that each still sends some."""
    if connections is None:
        connections = min(64, max(2, round(rate))) if rate else 1
    mean_ms = connections / rate * 1000 if rate else 0.0
    script = WRK_SCRIPT % {"method": "POST", "body": body.decode()} + QUANTILES
    if rate:
        script += PACING % {"seed": seed, "mean_ms": mean_ms}
    out = _wrk(script, url, connections, 1, duration, "10s")
    result = parse_wrk(out)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKQ "))
    quantiles = [int(x) / 1e6 for x in line[5:].split(",")]
    return {"rate": rate, "achieved_rps": result["throughput_rps"], "errors": result["error_rate"],
            "p50_ms": result["p50_ms"], "p95_ms": quantiles[379] * 1000, "p99_ms": result["p99_ms"],
            "mean_ms": result["avg_ms"], "answer_over_wait": result["avg_ms"] / mean_ms if mean_ms else None,
            "quantiles_s": quantiles}


def sequential(url: str, requests: dict[str, tuple[str, bytes]], count: int, warmup: int = 50,
               timeout: float = 60) -> dict[str, list[float]]:
    """Seconds per request, back to back on one keep-alive connection: `count` rounds after
    `warmup` unrecorded ones, each round sending every kind of `requests` (kind -> (path, body))
    once, interleaved so that the machine's drift falls on all of them. A non-200 stops it."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Content-Type": "application/json"}
    times: dict[str, list[float]] = {kind: [] for kind in requests}
    try:
        for i in range(count + warmup):
            for kind, (path, body) in requests.items():
                started = time.perf_counter()
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url}{path} answered {response.status}")
                if i >= warmup:
                    times[kind].append(time.perf_counter() - started)
    finally:
        conn.close()
    return times


# -- wrk's figures as a table: the concurrency benchmark's, printed by it and rendered again in
# docs/benchmarks.md and docs/results.md ---------------------------------------------------

def concurrency_rows(result: dict[str, Any]) -> list[tuple[str, str, dict[str, float]]]:
    """(configuration, connections, median figures), wrk's own ceiling last."""
    out = [(name, c, r["median"]) for name, per in result["targets"].items() for c, r in per.items()]
    out.append((f"wrk's own ceiling: GET /_/health on {result['client_ceiling_target']}", "8",
                result["client_ceiling_health_c8"]["median"]))
    return out


def concurrency_table(result: dict[str, Any]) -> str:
    lines = [f"{'configuration':<48}{'conns':>6}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"]
    lines += [f"{name:<48}{c:>6}{m['throughput_rps']:>9.0f}{m['p50_ms']:>8.2f}{m['p99_ms']:>8.2f}{m['error_rate']:>8.2%}"
              for name, c, m in concurrency_rows(result)]
    return "\n".join(lines)


def concurrency_markdown(result: dict[str, Any]) -> list[str]:
    """The same table in Markdown, for docs/benchmarks.md and docs/results.md."""
    lines = ["| configuration | connections | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {c} | {m['throughput_rps']:,.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | "
              f"{m['error_rate']:.2%} |" for name, c, m in concurrency_rows(result)]
    return lines
