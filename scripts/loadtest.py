"""Load a prediction endpoint and report what the reference report did, and more.

    python -m scripts.loadtest URL [--requests 100 --concurrency 10] [--json PATH]
    python -m scripts.loadtest URL --wrk --connections 8 --duration 8 [--runs 3]

The default is the reference report's run (100 requests; its figures imply about 10 in
flight). The Python client keeps one keep-alive session per worker thread; it shares the
machine's cores with the server, so for throughput use --wrk (Debian's wrk, driven here).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli
from scripts.launch import EXAMPLE_BODY
from scripts.stats import median_of, percentile

PERCENTILES = (50, 90, 99)


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


def run_wrk(url: str, connections: int, duration: float, threads: int = 2, method: str = "POST",
            body: bytes | None = None, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """wrk against url; `prefix` runs it through another command (nsenter into a container's network)."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    payload = (body if body is not None else EXAMPLE_BODY).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % {"method": method, "body": payload})
    try:
        proc = subprocess.run([*prefix, "wrk", "-t", str(min(threads, connections)), "-c", str(connections),
                               "-d", f"{max(1, round(duration))}s", "--timeout", "5s", "-s", f.name, url],
                              capture_output=True, text=True, timeout=duration + 60)
    finally:
        Path(f.name).unlink()
    result = parse_wrk(proc.stdout)
    result.update(connections=connections, threads=min(threads, connections))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("url", help="e.g. http://127.0.0.1:8080/ (function) or http://127.0.0.1:8000/predict")
    parser.add_argument("--requests", type=int, default=100, help="Python client: requests in all (default 100)")
    parser.add_argument("--concurrency", type=int, default=10, help="Python client: requests in flight (default 10)")
    parser.add_argument("--wrk", action="store_true", help="drive wrk for a timed run instead")
    parser.add_argument("--connections", type=int, default=8, help="wrk: connections (default 8)")
    parser.add_argument("--duration", type=float, default=8.0, help="wrk: seconds per run (default 8)")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report the median")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.runs < 1:
        parser.error("--requests, --concurrency and --runs must be at least 1")
    runs = []
    for _ in range(args.runs):
        if args.wrk:
            runs.append(run_wrk(args.url, args.connections, args.duration))
        else:
            runs.append(python_client(args.url, args.requests, args.concurrency, EXAMPLE_BODY))
    result = {"url": args.url, "mode": "wrk" if args.wrk else "python", "median": median_of(runs), "runs": runs}
    m = result["median"]
    print(f"{args.url}: {m['throughput_rps']:.1f} req/s, avg {m['avg_ms']:.2f} ms, max {m['max_ms']:.2f} ms, "
          f"p50 {m['p50_ms']:.2f} / p90 {m['p90_ms']:.2f} / p99 {m['p99_ms']:.2f} ms, "
          f"errors {m['error_rate']:.2%} (median of {len(runs)})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if m["error_rate"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
