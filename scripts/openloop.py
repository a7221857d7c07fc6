"""Open-loop load: Poisson arrivals at a fixed rate, each request sent when it is due whether or
not earlier ones have answered (unlike a plain wrk run, a closed loop in which a slow answer
delays the next request and hides the queue).

    python -m scripts.openloop URL --rate 300 [--duration 15] [--connections 64] [--seed 1]

wrk drives it (a C client: a Python one on the same two cores added milliseconds of its own to
the tail): each of --connections waits an exponential time with mean connections / rate before
each request. Together they are a Poisson stream at the rate, as long as an answer takes far
less than that mean wait (the result reports the ratio); latency is wrk's, from each send.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli
from scripts.launch import EXAMPLE_BODY
from scripts.loadtest import WRK_SCRIPT, parse_wrk

# Exponential waits per connection, and the latency distribution as 400 quantiles (for the
# simulation, which draws answers from it).
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


def run(url: str, rate: float | None, duration: float = 15.0, seed: int = 1, connections: int | None = None,
        body: bytes = EXAMPLE_BODY) -> dict[str, Any]:
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
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        proc = subprocess.run(["wrk", "-t1", f"-c{connections}", "-d", f"{max(1, round(duration))}s",
                               "--timeout", "10s", "-s", f.name, url], capture_output=True, text=True,
                              timeout=duration + 60)
    finally:
        Path(f.name).unlink()
    result = parse_wrk(proc.stdout)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("WRKQ "))
    quantiles = [int(x) / 1e6 for x in line[5:].split(",")]
    return {"rate": rate, "achieved_rps": result["throughput_rps"], "errors": result["error_rate"],
            "p50_ms": result["p50_ms"], "p95_ms": quantiles[379] * 1000, "p99_ms": result["p99_ms"],
            "mean_ms": result["avg_ms"], "answer_over_wait": result["avg_ms"] / mean_ms if mean_ms else None,
            "quantiles_s": quantiles}


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("url", help="where to POST the example record, e.g. http://127.0.0.1:8080/")
    parser.add_argument("--rate", type=float, required=True, help="requests per second (Poisson)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="the arrivals' random seed (default 1)")
    parser.add_argument("--connections", type=int, help="connections, each pacing itself (default 64, fewer below "
                                                       "64 req/s)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0:
        parser.error("--rate and --duration must be positive")
    result = run(args.url, args.rate, args.duration, args.seed, args.connections)
    del result["quantiles_s"]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
