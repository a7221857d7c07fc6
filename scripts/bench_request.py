"""What observability costs one request, in process: the WSGI application answering a valid
record, with metrics and the JSON access log off, on (one process), and on in multiprocess mode
(several workers: every metric in a shared file). No network, no server loop: only the code
that differs, timed over many calls.

    python -m scripts.bench_request [--calls 20000] [--rounds 5] [--json docs/bench/request_path.json]

Each mode runs in its own process (multiprocess mode is chosen before any metric exists),
modes interleaved round by round; the figure is the median of the rounds.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import timeit
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli
from scripts.launch import EXAMPLE_BODY, ROOT

MODES = ("off", "on", "on, multiprocess")
OUT = ROOT / "docs" / "bench" / "request_path.json"
# Requests per metrics flush: about what 0.1 s (App.FLUSH_SECONDS) holds at this service's rates.
FLUSH_EVERY = 100


def one_round(mode: str, calls: int) -> float:
    """Microseconds per request in this process (call in a fresh process per mode)."""
    if mode == "on, multiprocess":
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-request-")
    from fn import api, index, logs, serve
    from fn.app import App
    from fn.fields import FIELDS
    from fn.inference import Predictor
    from fn.metrics import Metrics

    model = Predictor()
    metrics = Metrics(FIELDS) if mode != "off" else None
    plane = api.DataPlane(model, observe=serve.Observer(metrics))
    app = App(index.serve_handler(plane), access=logs.AccessLog("json", "v") if mode != "off" else None,
              metrics=metrics)
    if app.access:
        app.access.flush = lambda: None  # lines pile up in memory: writing them to stdout is not what is timed

    def one() -> None:
        app({"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": str(len(EXAMPLE_BODY)),
             "CONTENT_TYPE": "application/json", "HTTP_HOST": "127.0.0.1:8080", "HTTP_USER_AGENT": "wrk",
             "wsgi.input": io.BytesIO(EXAMPLE_BODY)}, lambda status, headers: None)

    def call() -> None:  # the tally is timed: flushed every FLUSH_EVERY calls, as the server's loop does
        for _ in range(FLUSH_EVERY):
            one()
        app.flush()

    call()
    return timeit.timeit(call, number=max(1, calls // FLUSH_EVERY)) / (max(1, calls // FLUSH_EVERY) * FLUSH_EVERY) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--calls", type=int, default=20000, help="requests per round (default 20000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per mode (default 5)")
    parser.add_argument("--json", type=Path, default=OUT, help="where to write the results")
    parser.add_argument("--mode", choices=MODES, help="internal: one round of this mode, printed in µs per request")
    args = parser.parse_args(argv)
    if args.mode:  # a child: one round of one mode
        print(json.dumps(one_round(args.mode, args.calls)))
        return 0
    runs: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in cli.progress(list(range(args.rounds)), "rounds"):
        for mode in MODES:
            out = subprocess.run([sys.executable, "-m", "scripts.bench_request", "--mode", mode, "--calls",
                                  str(args.calls)], cwd=ROOT, capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    medians = {mode: statistics.median(values) for mode, values in runs.items()}
    print(f"{'observability':<22}{'us/request':>12}{'added':>10}")
    for mode, us in medians.items():
        print(f"{mode:<22}{us:>12.1f}{us - medians['off']:>+10.1f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"), "calls": args.calls,
                                     "medians_us": medians, "runs_us": runs}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
