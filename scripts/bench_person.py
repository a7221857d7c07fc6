"""What the answers for a person cost: the latency of one explained record against a plain one,
in process and through the function container as shipped (one keep-alive connection, requests
back to back, the two kinds interleaved), and the page's size.

    python -m scripts.bench_person [--requests 400] [--json docs/bench/person.json] [--process-only]

--process-only measures in process only, with exact Shapley values beside the sampled ones
(docs/bench/person-process.json).

The container runs read-only on the host network pinned to CPU 1, the client on CPU 0, access
log off, metrics on (scripts/bench_replica.py's configuration).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from fn.record.fields import EXAMPLE
from harness import ROOT, cli, launch
from harness.load import sequential
from harness.stats import REPLICA_CPU, pin

OUT = ROOT / "docs" / "bench" / "person.json"
PROCESS_ONLY = OUT.with_name("person-process.json")
KINDS = {"plain": EXAMPLE, "explained": EXAMPLE | {"explain": True}}


def in_process(count: int) -> dict[str, float]:
    """Median ms per DataPlane.predictions call, plain and explained, interleaved."""
    from fn.api.dataplane import DataPlane, Options
    from fn.model.tflite import Predictor

    plane, exact = DataPlane(Predictor()), DataPlane(Predictor())
    exact.exact_single = True
    kinds = {"plain": (plane, Options()), "explained": (plane, Options(explain=True)),
             "explained_exact": (exact, Options(explain=True))}
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for i in range(count + 50):
        for kind, (chosen, options) in kinds.items():
            started = time.perf_counter()
            chosen.predictions([EXAMPLE], False, options)
            if i >= 50:
                times[kind].append(time.perf_counter() - started)
    return {kind: statistics.median(t) * 1000 for kind, t in times.items()}


def over_http(url: str, count: int) -> dict[str, float]:
    """Median ms per request on one keep-alive connection, plain and explained, interleaved."""
    kinds = {kind: ("/", json.dumps(record).encode()) for kind, record in KINDS.items()}
    return {kind: statistics.median(t) * 1000 for kind, t in sequential(url, kinds, count, timeout=30).items()}


def page_bytes() -> int:
    from fn.api.page import render
    from fn.model.tflite import Predictor

    model = Predictor()
    return len(render(model.spec, model.version).encode())


def measure(count: int, process_only: bool = False) -> dict:
    pin()
    process = in_process(count)
    if process_only:
        return {"date": cli.now(), "requests": count,
                "configuration": "in process (DataPlane), client pinned to CPU 0", "p50_ms": {"process": process}}
    name, url = launch.docker_run_pinned("function", "device-price-bench-person", REPLICA_CPU)
    try:
        container = over_http(url, count)
    finally:
        launch.stop_container(name)
    return {
        "date": cli.now(),
        "requests": count,
        "configuration": "in process (DataPlane) and the function container on the host network pinned to CPU 1, "
                         "client on CPU 0, one keep-alive connection, access log off, metrics on",
        "p50_ms": {"process": process, "container": container},
        "explained_over_plain": {where: v["explained"] / v["plain"] for where, v in
                                 (("process", process), ("container", container))},
        "page_bytes": page_bytes(),
    }


def table(result: dict) -> str:
    lines = [f"{'where':<11}{'plain p50 ms':>14}{'explained p50 ms':>18}{'exact p50 ms':>14}"]
    for where, v in result["p50_ms"].items():
        exact = f"{v['explained_exact']:>14.3f}" if "explained_exact" in v else f"{'-':>14}"
        lines.append(f"{where:<11}{v['plain']:>14.3f}{v['explained']:>18.3f}{exact}")
    if "page_bytes" in result:
        lines.append(f"page: {result['page_bytes']:,} bytes")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--requests", type=int, default=400, help="of each kind (default 400)")
    parser.add_argument("--json", type=Path, default=OUT, help="where to write the results (default docs/bench/person.json)")
    parser.add_argument("--process-only", action="store_true",
                        help="only in process, with exact Shapley values beside the sampled ones (no container)")
    args = parser.parse_args(argv)
    result = measure(args.requests, args.process_only)
    print(table(result))
    # the container run's file (the README's figures) is not overwritten by a process-only run
    cli.write_json(PROCESS_ONLY if args.process_only and args.json == OUT else args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
