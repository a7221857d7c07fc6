"""The Open Inference Protocol v2 path against the native path, on the function as shipped (a
process, metrics on, access log off): req/s for one record at 8 connections (wrk), and the time
per row of a 1,000-row batch (sequential requests). Both paths in one run, interleaved.

    python -m scripts.bench_protocols [--runs 3] [--duration 8] [--batches 10] [--json docs/bench/protocols.json]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from fn.api import v2
from fn.record.fields import EXAMPLE
from harness import ROOT, cli, launch
from harness.launch import TARGETS
from harness.load import run_wrk, sequential
from harness.stats import median_of

OUT = ROOT / "docs" / "bench" / "protocols.json"
BATCH_ROWS = 1000
INFER = "/v2/models/" + v2.NAME + "/infer"


def bodies(rows: int) -> dict[str, tuple[str, bytes]]:
    """path -> (URL path, body) for `rows` copies of the example record."""
    records = [EXAMPLE] * rows
    native = EXAMPLE if rows == 1 else {"instances": records}
    return {"native": ("/", json.dumps(native).encode()),
            "v2": (INFER, json.dumps({"inputs": v2.tensors(records)}).encode())}


def table(result: dict) -> str:
    rps, us = result["single_record_8_connections_rps"], result["batch_1000_rows_us_per_row"]
    lines = [f"{'path':<8}{'1 record, 8 conns, req/s':>26}{'1,000-row batch, us/row':>26}"]
    lines += [f"{name:<8}{rps[name]:>26,.0f}{us[name]:>26.1f}" for name in rps]
    lines.append(f"v2/native: {result['v2_over_native_rps']:.3f} of the req/s (goal >= 0.80), "
                 f"{result['v2_over_native_us_per_row']:.3f} of the time per row (goal <= 1.20)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run (default 8)")
    parser.add_argument("--batches", type=int, default=10, help="1,000-row requests per path per round (default 10)")
    parser.add_argument("--json", type=Path, default=OUT, help="where to write the results")
    args = parser.parse_args(argv)
    single, batch = bodies(1), bodies(BATCH_ROWS)
    wrk: dict[str, list] = {p: [] for p in single}
    per_row: dict[str, list[float]] = {p: [] for p in batch}
    proc, base = launch.serve_process(TARGETS["function"], launch.QUIET)
    try:
        for _ in cli.progress(list(range(args.runs)), "rounds"):
            for name, (path, body) in single.items():
                wrk[name].append(run_wrk(base + path, 8, args.duration, body=body))
            for name, seconds in sequential(base, batch, args.batches, warmup=0).items():
                per_row[name] += [s / BATCH_ROWS * 1e6 for s in seconds]
    finally:
        launch.stop_process(proc)
    rps = {name: median_of(runs)["throughput_rps"] for name, runs in wrk.items()}
    us = {name: statistics.median(values) for name, values in per_row.items()}
    result = {
        "date": cli.now(),
        "configuration": "function process as shipped (1 worker, 1 thread, metrics on), access log off",
        "single_record_8_connections_rps": rps,
        "v2_over_native_rps": rps["v2"] / rps["native"],
        "batch_1000_rows_us_per_row": us,
        "v2_over_native_us_per_row": us["v2"] / us["native"],
        "runs": {"wrk": wrk, "batch_us_per_row": per_row},
    }
    print(table(result))
    cli.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
