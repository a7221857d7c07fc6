"""What a prediction costs beside what it cannot avoid, as two ratios (issue 33):

- in process: DataPlane.predictions over the TFLite call of the ten fold members alone
  (Predictor.predict_members), for one record, a batch of FEW rows (the largest taken row by row,
  fn/record/columns.py; no goal) and a 1,000-row batch, in thread CPU time;
- over HTTP: POST of one record over GET /_/health, the same container answering both, at 8
  connections, for the function and the server (one worker and two), access log on as shipped.

    python -m scripts.bench_ratios [--function IMAGE] [--server IMAGE] [--duration 5] [--rounds 3]
        [--in-process-only] [--instructions] [--json docs/bench/ratios.json]

In process, this process is pinned to one core; the prediction and the members' call run in
alternating blocks (--blocks of --calls calls; a batch block is --calls / rows calls), and each
figure is the median over blocks of the thread's CPU time per call, which other jobs on the
machine inflate far less than the wall clock. With --instructions, each case also runs in a child
under valgrind (Debian's package): the instructions per call, a run of calls less a run of none,
which the machine's load does not change at all, so that a change of a few percent shows (the
clock's ratios move by more than that between runs here); they leave out what a clock sees of
caches and of how many instructions a cycle retires. Over HTTP each container runs as users run it
(read-only root, no capabilities) on the host network pinned to CPU 1, and wrk is pinned to CPU 0;
predict and health alternate for --rounds rounds, each figure the median over rounds, with p50
and p99 beside the rate and the CPU the container's cgroup spent per request. For the function,
a second container of the same image answers the same POST with a ready-made prediction (CANNED)
in the same rounds: the HTTP around a prediction with the prediction taken out. Goals (issue 33):
one record within 4x the members, a batch within 5x, predict at least 0.6x health.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fn.record.columns import FEW
from fn.record.fields import EXAMPLE
from harness import cli, launch, stats
from harness.launch import TARGETS
from harness.load import run_wrk
from harness.stats import CLIENT_CPU, REPLICA_CPU, median_of

OUT = launch.ROOT / "docs" / "bench" / "ratios.json"
BATCH = 1000
CASES = {"one_record": 1, "few": FEW, "batch": BATCH}  # the rows of each in-process case
CONNECTIONS = 8
GOALS = {"one_record": 4.0, "batch": 5.0, "predict_over_health": 0.6}


def _cpu_us(call: Callable[[], Any], calls: int) -> float:
    """Thread CPU time per call, in µs."""
    started = time.thread_time_ns()
    for _ in range(calls):
        call()
    return (time.thread_time_ns() - started) / calls / 1000


def _cases(model: Any, plane: Any) -> list[tuple[str, int, Callable[[], Any], Callable[[], Any]]]:
    """Each case's rows and its two calls: the prediction, and the members' call on its encoded rows."""
    from fn.record import features

    # a batch as a client sends one: the example's device at each age and release year
    batch = [dict(EXAMPLE, days_used=30 + 7 * i % 1000, release_year=2013 + i % 8) for i in range(BATCH)]
    out = []
    for case, rows in CASES.items():
        records = [dict(EXAMPLE)] if rows == 1 else batch[:rows]
        x, _ = model.encoder.encode(features.check_records(records))

        def predict(records: list[Any] = records) -> Any:
            return plane.predictions(records, len(records) > 1)

        def members(x: Any = x) -> Any:
            return model.predict_members(x)

        out.append((case, rows, predict, members))
    return out


def _loaded() -> tuple[Any, Any]:
    from fn.api.dataplane import DataPlane
    from fn.model.tflite import Predictor

    model = Predictor()
    return model, DataPlane(model)


def in_process(blocks: int, calls: int) -> dict[str, Any]:
    """Per case (one record, FEW rows, a batch): the median µs of the prediction and of the members'
    call, and their ratio, over alternating blocks."""
    stats.pin(0, REPLICA_CPU)
    out = {}
    for case, rows, predict, members in _cases(*_loaded()):
        n = max(1, calls // rows)
        for call in (predict, members):  # warm: each batch size allocated once
            _cpu_us(call, 3)
        runs: dict[str, list[float]] = {"prediction_us": [], "members_us": []}
        for _ in range(blocks):
            runs["prediction_us"].append(_cpu_us(predict, n))
            runs["members_us"].append(_cpu_us(members, n))
        median = {k: statistics.median(v) for k, v in runs.items()}
        out[case] = {"rows": rows, **median, "ratio": median["prediction_us"] / median["members_us"],
                     "goal": GOALS.get(case), "blocks": runs}
    return out


# A child under valgrind: one case's prediction or members' call, once to warm, then n times.
COUNTED = """
import sys
from scripts.bench_ratios import count_calls
count_calls(sys.argv[1], sys.argv[2], int(sys.argv[3]))
"""


def count_calls(case: str, kind: str, n: int) -> None:
    """What COUNTED runs."""
    _, _, predict, members = next(c for c in _cases(*_loaded()) if c[0] == case)
    call = predict if kind == "prediction" else members
    for _ in range(1 + n):
        call()


def instructions(calls: int) -> dict[str, Any]:
    """Per case: the instructions a prediction and a members' call run, and their ratio: a run of n
    calls less a run of none, the same start-up (the same hash seed) in both."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(launch.ROOT)}
    out = {}
    for case, rows in CASES.items():
        n = max(5, calls // rows)  # a few calls at least: one alone counts an allocation or two as its own
        per = {}
        for kind in ("prediction", "members"):
            none, some = (stats.instructions([sys.executable, "-c", COUNTED, case, kind, str(k)], env) for k in (0, n))
            per[kind] = (some - none) / n
        out[case] = {"rows": rows, "calls": n, "prediction_instructions": per["prediction"],
                     "members_instructions": per["members"], "ratio": per["prediction"] / per["members"],
                     "goal": GOALS.get(case)}
    return out


# The function's own start (fn/index.py) with one change: POST answers a copy of a real prediction's
# response, made once, without parsing the body or predicting. The same image, server, App, access
# log, metrics and token: what the HTTP around a prediction costs with the prediction taken out.
CANNED = """
import sys
import fn.index as index
from fn.api.messages import Response, json_response
from fn.record.fields import EXAMPLE
shipped = index.serve_handler
def serve_handler(plane):
    route, answer = shipped(plane), json_response(200, plane.predictions([dict(EXAMPLE)], False)[0])
    return lambda request: Response(200, answer.body, list(answer.headers)) if request.method == "POST" else route(request)
index.serve_handler = serve_handler
sys.exit(index.main())
"""


def over_http(image: str, workers: int, duration: float, rounds: int, canned: bool) -> dict[str, Any]:
    """Predict and health alternating on one container (and with `canned`, the same POST on a second
    container of the image answering CANNED): medians, the CPU its container spent per request, and
    predict / health."""
    target, env = launch.image_target(image), {"access_log": "1", "workers": str(workers)}
    containers = {"shipped": launch.docker_run_pinned(target.name, launch.own_name("device-price-ratios"), REPLICA_CPU,
                                                      env, image=image)}
    kinds = {"predict": ("shipped", "POST", target.predict_path), "health": ("shipped", "GET", "/_/health")}
    try:
        if canned:
            python = next(part for part in launch.entrypoint(image) if "python" in part)
            containers["canned"] = launch.docker_run_pinned(target.name, launch.own_name("device-price-canned"),
                                                            REPLICA_CPU, env, image=image, command=(python, "-c", CANNED))
            kinds["canned"] = ("canned", "POST", target.predict_path)
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for where, method, path in kinds.values():  # warm-up, not counted
            run_wrk(containers[where][1] + path, CONNECTIONS, 1, method=method)
        ids = {where: stats.container_id(name) for where, (name, _) in containers.items()}
        for _ in range(rounds):
            for kind, (where, method, path) in kinds.items():
                before = stats.cgroup_cpu_seconds(ids[where])
                run = run_wrk(containers[where][1] + path, CONNECTIONS, duration, method=method)
                run["cpu_us_per_request"] = (stats.cgroup_cpu_seconds(ids[where]) - before) * 1e6 / max(run["requests"], 1)
                runs[kind].append(run)
    finally:
        for name, _ in containers.values():
            launch.stop_container(name)
    median = {kind: median_of(rs) for kind, rs in runs.items()}
    return {"image": image, "workers": workers, "median": median,
            "ratio": median["predict"]["throughput_rps"] / median["health"]["throughput_rps"],
            "goal": GOALS["predict_over_health"], "runs": runs}


def _cases_table(title: str, cases: dict[str, Any], unit: str, digits: int) -> list[str]:
    """One in-process table: per case, the prediction's and the members' figure (the keys ending in
    `unit`) and their ratio against the goal."""
    label = " µs" if unit == "_us" else ""
    lines = [title, "", f"| case | prediction{label} | members{label} | ratio | goal |", "|---|---|---|---|---|"]
    for case, r in cases.items():
        goal = "–" if r["goal"] is None else f"≤ {r['goal']:g}×"
        lines.append(f"| {case} ({r['rows']} rows) | {r['prediction' + unit]:,.{digits}f} | "
                     f"{r['members' + unit]:,.{digits}f} | {r['ratio']:.2f}× | {goal} |")
    return lines


def table(result: dict[str, Any]) -> str:
    lines = _cases_table("In process (thread CPU time, medians over blocks):", result["in_process"], "_us", 1)
    if result.get("instructions"):
        lines += ["", *_cases_table("In process, instructions (valgrind's callgrind: what the machine's load does "
                                    "not change):", result["instructions"], "_instructions", 0)]
    if result.get("over_http"):
        lines += ["", f"Over HTTP ({CONNECTIONS} connections, access log on, server on CPU {REPLICA_CPU}, wrk on CPU "
                  f"{CLIENT_CPU}; medians over {result['rounds']} rounds of {result['duration_s']:g} s):", "",
                  "| program | workers | predict req/s | p50 / p99 ms | health req/s | p50 / p99 ms | predict / health |",
                  "|---|---|---|---|---|---|---|"]
        for r in result["over_http"]:
            p, h = r["median"]["predict"], r["median"]["health"]
            lines.append(f"| {r['image']} | {r['workers']} | {p['throughput_rps']:,.0f} | {p['p50_ms']:.2f} / "
                         f"{p['p99_ms']:.2f} | {h['throughput_rps']:,.0f} | {h['p50_ms']:.2f} / {h['p99_ms']:.2f} | "
                         f"{r['ratio']:.2f} (goal ≥ {r['goal']:g}) |")
        lines += ["", "Where the difference is (the container's CPU per request; canned: the same POST answered "
                  "with a ready-made prediction):", "", "| program | workers | request | req/s | CPU µs per request |",
                  "|---|---|---|---|---|"]
        for r in result["over_http"]:
            for kind, m in r["median"].items():
                lines.append(f"| {r['image']} | {r['workers']} | {kind} | {m['throughput_rps']:,.0f} | "
                             f"{m['cpu_us_per_request']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--function", default=TARGETS["function"].image, help="the function's image")
    p.add_argument("--server", default=TARGETS["server"].image, help="the server's image")
    p.add_argument("--blocks", type=int, default=15, help="alternating blocks in process (default 15)")
    p.add_argument("--calls", type=int, default=2000, help="one-record calls per block (default 2000)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="predict/health rounds per container (default 3)")
    p.add_argument("--in-process-only", action="store_true", help="no containers: the in-process ratios only")
    p.add_argument("--instructions", action="store_true",
                   help="also count the in-process cases' instructions under valgrind (a few minutes)")
    p.add_argument("--json", type=Path, default=OUT, help=f"where to write (default {OUT.relative_to(launch.ROOT)})")
    args = p.parse_args(argv)
    result: dict[str, Any] = {"date": cli.now(),
                              "in_process": in_process(args.blocks, args.calls)}
    if args.instructions:
        try:
            result["instructions"] = instructions(args.calls)
        except RuntimeError as e:
            print(f"bench_ratios: {e}", file=sys.stderr)
            return 1
    if not args.in_process_only:
        stats.pin()  # this process and wrk, started from here, on CLIENT_CPU
        result.update(duration_s=args.duration, rounds=args.rounds, connections=CONNECTIONS, over_http=[])
        try:
            for image, workers, canned in ((args.function, 1, True), (args.server, 1, False), (args.server, 2, False)):
                result["over_http"].append(over_http(image, workers, args.duration, args.rounds, canned))
        except (RuntimeError, TimeoutError, OSError) as e:
            print(f"bench_ratios: {e}", file=sys.stderr)
            return 1
    print(table(result))
    cli.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
