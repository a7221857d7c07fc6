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
import sys

from harness import cli
from harness.load import open_loop


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
    result = open_loop(args.url, args.rate, args.duration, args.seed, args.connections)
    del result["quantiles_s"]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
