"""Load a prediction endpoint and report what the reference report did, and more.

    python -m scripts.loadtest URL [--requests 100 --concurrency 10] [--json PATH]
    python -m scripts.loadtest URL --wrk --connections 8 --duration 8 [--runs 3]

The default is the reference report's run (100 requests; its figures imply about 10 in
flight). The Python client keeps one keep-alive session per worker thread; it shares the
machine's cores with the server, so for throughput use --wrk (Debian's wrk, driven here).
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness import cli
from harness.launch import EXAMPLE_BODY
from harness.load import python_client, run_wrk
from harness.stats import median_of


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
        cli.write_json(args.json, result, say=False)
    return 0 if m["error_rate"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
