"""What observability costs one request, in process: the WSGI application answering a valid
record with metrics and the JSON access log on (one process), and on in multiprocess mode
(several workers: every metric in a shared file), each against the same application with both
off. No network, no server loop: only the code that differs.

    python -m scripts.bench_request [--blocks 300] [--json docs/bench/request.json]

Each on mode runs in a process of its own (multiprocess mode is chosen before any metric
exists) beside an application with both off, pinned to one core. They answer in alternating
blocks of 100 requests, each block ending with the flush the server's loop does every 0.1 s
(the tally, and the access log formatted and written to /dev/null), timed in the thread's CPU
time, which this machine's host does not inflate as it does the wall clock. The figure is the
median over blocks of the difference between neighbouring on and off blocks, with a bootstrap
95% interval: whole runs of one mode here spread from 170 to 260 µs per request.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from harness import cli
from harness.launch import EXAMPLE_BODY, ROOT
from harness.stats import REPLICA_CPU, bootstrap, pin

MODES = ("on", "on, multiprocess")
OUT = ROOT / "docs" / "bench" / "request.json"
# Requests per metrics flush: about what 0.1 s (App.FLUSH_SECONDS) holds at this service's rates.
FLUSH_EVERY = 100


def blocks(mode: str, count: int) -> dict[str, list[float]]:
    """µs per request of `count` blocks of each of off and `mode`, alternating (call in a fresh
    process per mode)."""
    if mode == "on, multiprocess":
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-request-")
    from fn import index
    from fn.api import dataplane
    from fn.model.tflite import Predictor
    from fn.record.fields import FIELDS
    from fn.server import logs, serve
    from fn.server.app import App
    from fn.server.metrics import Metrics

    pin(0, REPLICA_CPU)
    model = Predictor()
    metrics = Metrics(FIELDS)
    apps = {"off": App(index.serve_handler(dataplane.DataPlane(model, observe=serve.Observer(None)))),
            mode: App(index.serve_handler(dataplane.DataPlane(model, observe=serve.Observer(metrics))),
                      access=logs.AccessLog("json", model.version), metrics=metrics)}
    devnull = open(os.devnull, "w")  # open for the life of this process
    apps[mode].access.flush = partial(apps[mode].access.flush, devnull)

    def block(app: App) -> float:
        started = time.thread_time()
        for _ in range(FLUSH_EVERY):
            app({"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": str(len(EXAMPLE_BODY)),
                 "CONTENT_TYPE": "application/json", "HTTP_HOST": "127.0.0.1:8080", "HTTP_USER_AGENT": "wrk",
                 "wsgi.input": io.BytesIO(EXAMPLE_BODY)}, lambda status, headers: None)
        app.flush()
        return (time.thread_time() - started) / FLUSH_EVERY * 1e6

    for app in apps.values():
        block(app)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in apps}
    for i in range(count):
        for name in (apps if i % 2 else reversed(list(apps))):
            times[name].append(block(apps[name]))
    return times


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--blocks", type=int, default=300, help="blocks of 100 requests per mode (default 300)")
    parser.add_argument("--json", type=Path, default=OUT, help="where to write the results")
    parser.add_argument("--mode", choices=MODES, help="internal: this mode's blocks against off, printed as JSON")
    args = parser.parse_args(argv)
    if args.mode:  # a child: one mode against off
        print(json.dumps(blocks(args.mode, args.blocks)))
        return 0
    rng = np.random.default_rng(0)
    result: dict = {"date": cli.now(), "blocks": args.blocks,
                    "requests_per_block": FLUSH_EVERY, "off_us": {}, "on_us": {}, "added_us": {}, "interval_us": {}}
    print(f"{'observability':<18}{'off µs':>9}{'on µs':>9}{'added':>9}  95% interval")
    for mode in cli.progress(list(MODES), "modes"):
        out = subprocess.run([sys.executable, "-m", "scripts.bench_request", "--mode", mode, "--blocks",
                              str(args.blocks)], cwd=ROOT, capture_output=True, text=True, check=True)
        times = json.loads(out.stdout.strip().splitlines()[-1])
        added = np.array(times[mode]) - np.array(times["off"])
        result["off_us"][mode], result["on_us"][mode] = float(np.median(times["off"])), float(np.median(times[mode]))
        result["added_us"][mode] = float(np.median(added))
        result["interval_us"][mode] = bootstrap(added, 5000, rng)
        low, high = result["interval_us"][mode]
        print(f"{mode:<18}{result['off_us'][mode]:>9.1f}{result['on_us'][mode]:>9.1f}{result['added_us'][mode]:>+9.1f}"
              f"  {low:+.1f} to {high:+.1f}")
    cli.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
