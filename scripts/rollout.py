"""Deploying on a real OpenFaaS gateway, measured: updates and rollbacks under load, what a model
or code update moves, what the gateway costs per request, and the cold start beside its floor.

    python -m scripts.rollout [--clients 4] [--duration 5] [--rounds 3] [--runs 5]

Starts the local stack (../shared/openfaas/up.sh, or OPENFAAS_STACK_DIR; harness/openfaas.py) and
always takes it down. Builds as the README's offline `faas-cli up` does, to the stack's registry:
A (the repository), B (another model version in model/manifest.json: the model layer as a
retrained model changes it) and C (a one-line change to fn/). Then, writing docs/bench/:
- rollout.json: A -> B (update) and B -> A (rollback) with `faas-cli deploy` while --clients
  clients call through the gateway (`faas-cli up` is build, push, then this deploy): failed
  requests, when the new version first and the old one last answered, when only the new
  replica was left; and per update the compressed bytes a node holding A pulls (registry blob
  sizes) and the image sizes. Also what the deployed replica spends at rest: the CPU its cgroup
  used over --rest seconds without requests (a health check, where the image has one, included).
- gateway.json: wrk with 1 and 8 connections through the gateway (faas-swarm proxying to the
  replica) against the same replica directly, interleaved, --rounds times: req/s, p50, p99, the
  latency the platform adds per request, and the CPU seconds per request of gateway + provider
  (their containers' cgroups) and of the replica. wrk runs inside the gateway's or the replica's
  network namespace (nsenter; needs root), so the published port's proxy is in neither path.
- coldstart-openfaas.json: `python scripts/coldstart.py --mode openfaas`, run on this stack: the
  function scaled to zero and woken by one request, deploy -> first 200, and `docker run` of the
  same image, interleaved, with breakdowns.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import cli, launch, openfaas, readme, tables
from harness.coldstart import layers, pulled_bytes
from harness.load import run_wrk
from harness.stats import cgroup_cpu_seconds, container_id

TAGS = {"A": "bench-a", "B": "bench-b", "C": "bench-c"}
DEFAULT_OUT = launch.ROOT / "docs" / "bench"
DEPLOY_DOC = launch.ROOT / "docs" / "deploy.md"  # its rollout section is this command's table


def image(tag: str) -> str:
    return f"{openfaas.REGISTRY}/local/device-price:{tag}"


def build(stack: openfaas.Stack, tag: str, tree: Path) -> float:
    """faas-cli up --skip-deploy (build and push) from `tree`; seconds."""
    started = time.perf_counter()
    stack.faas_cli("up", "--skip-deploy", "-f", "stack.yml", env=openfaas.build_env(tag), cwd=tree)
    return time.perf_counter() - started


def roll(stack: openfaas.Stack, tag: str, version: str, clients: int) -> dict[str, Any]:
    """faas-cli deploy of `tag` under load; what the clients saw."""
    with openfaas.Load(stack.function_url(), clients) as load:
        time.sleep(2)  # steady load first
        started = time.monotonic()
        stack.faas_cli("deploy", "-f", "stack.yml", env=openfaas.build_env(tag))
        deployed = time.monotonic()
        openfaas.wait_only(image(tag))
        settled = time.monotonic()
        time.sleep(2)
    seen = openfaas.switch(load.answers, started, version, settled)
    seen["deploy_command_s"] = round(deployed - started, 3)
    return seen


def rest_cost(seconds: float) -> dict[str, Any]:
    """What the deployed replica spends at rest, as a share of one core over `seconds` of no
    requests (its cgroup: the service and any health check, which runs inside it)."""
    replica = openfaas.replica_container()
    config = json.loads(launch.docker("inspect", "-f", "{{json .Config}}", replica))
    check = config.get("Healthcheck") or {}
    time.sleep(2)  # past the first answer's after-effects
    before = cgroup_cpu_seconds(replica)
    time.sleep(seconds)
    share = (cgroup_cpu_seconds(replica) - before) / seconds
    return {"image": config["Image"], "seconds": seconds,
            "health_check": "none" if check.get("Test") in (None, ["NONE"]) else f"every {check['Interval'] / 1e9:g} s",
            "core_share": round(share, 5)}


def gateway_cost(stack: openfaas.Stack, connections: list[int], duration: float, rounds: int) -> dict[str, Any]:
    """wrk through the gateway and straight to the replica, interleaved; medians over rounds."""
    replica = openfaas.replica_container()
    platform = [container_id(c) for c in ("openfaas-gateway", "openfaas-provider")]
    paths = {"gateway": (openfaas.netns(container_id("openfaas-gateway")),
                         f"http://127.0.0.1:8080/function/{openfaas.FUNCTION}"),
             "direct": (openfaas.netns(replica), "http://127.0.0.1:8080/")}
    runs: dict[str, list[dict[str, Any]]] = {f"{p}_c{c}": [] for c in connections for p in paths}
    for _ in cli.progress(range(rounds), "gateway rounds"):
        for c in connections:
            for path, (prefix, url) in paths.items():
                before = [cgroup_cpu_seconds(i) for i in platform], cgroup_cpu_seconds(replica)
                r = run_wrk(url, c, duration, prefix=prefix)
                after = [cgroup_cpu_seconds(i) for i in platform], cgroup_cpu_seconds(replica)
                n = max(r["requests"], 1)
                r["platform_cpu_ms_per_request"] = (sum(after[0]) - sum(before[0])) * 1000 / n
                r["replica_cpu_ms_per_request"] = (after[1] - before[1]) * 1000 / n
                runs[f"{path}_c{c}"].append(r)
    keys = ("throughput_rps", "p50_ms", "p99_ms", "error_rate", "platform_cpu_ms_per_request",
            "replica_cpu_ms_per_request")
    median = {k: {m: round(statistics.median(r[m] for r in rs), 4) for m in keys} for k, rs in runs.items()}
    added = {f"c{c}": {"p50_ms": round(median[f"gateway_c{c}"]["p50_ms"] - median[f"direct_c{c}"]["p50_ms"], 4),
                       "p99_ms": round(median[f"gateway_c{c}"]["p99_ms"] - median[f"direct_c{c}"]["p99_ms"], 4),
                       "throughput_ratio": round(median[f"gateway_c{c}"]["throughput_rps"]
                                                 / median[f"direct_c{c}"]["throughput_rps"], 3)}
             for c in connections}
    return {"median": median, "added_by_gateway": added, "runs": runs, "duration_s": duration, "rounds": rounds}


def cold_starts(stack: openfaas.Stack, runs: int, out: Path) -> dict[str, Any]:
    """The cold-start command's openfaas mode on this stack, run as users run it (scale from zero,
    deploy, and `docker run` of the deployed image, interleaved, each with its median and breakdown);
    what it wrote to `out`."""
    command = [sys.executable, str(launch.ROOT / "scripts" / "coldstart.py"), "--mode", "openfaas",
               "--gateway", stack.url, "--runs", str(runs), "--json", str(out)]
    if subprocess.run(command, env={**os.environ, "OPENFAAS_PASSWORD": stack.password}).returncode != 0:
        raise RuntimeError("the cold starts through the gateway failed (their error is above)")
    return json.loads(out.read_text())


def table(rollout: dict[str, Any], gateway: dict[str, Any], cold: dict[str, Any]) -> str:
    """The figures as Markdown (printed, and the rollout section of docs/deploy.md)."""
    lines = [f"Measured {rollout['date']}, {rollout['machine']}; {rollout['clients']} clients through the gateway.",
             "", "| switch | requests | failed | first new answer | last old answer | only the new replica left |",
             "|---|---|---|---|---|---|"]
    for name in ("update", "rollback"):
        r = rollout[name]
        last = f"{r['last_old_s']:.2f} s" if r["last_old_s"] is not None else "none"
        lines.append(f"| {name} | {r['requests']:,} | {r['failed']} | {r['first_new_s']:.2f} s | {last} | "
                     f"{r['settled_s']:.2f} s ({r['old_after_settled']} old answers after) |")
    size = rollout["image_bytes"]
    lines += ["", "| update | compressed bytes a node holding the previous version pulls | image size |",
              "|---|---|---|"]
    for name, key in (("new model", "model"), ("new code", "code")):
        tag = {"model": "B", "code": "C"}[key]
        lines.append(f"| {name} | {rollout['pulled_bytes'][key] / 1e3:,.1f} kB | {size[tag] / 1e6:.1f} MB "
                     f"({rollout['layers'][tag]} layers) |")
    r = rollout["at_rest"]
    lines += ["", f"At rest the deployed replica spent {r['core_share'] * 100:.2f}% of one core over {r['seconds']:g} s "
                  f"without requests (its cgroup; health check: {r['health_check']}).", "",
              "| path (wrk, medians) | req/s | p50 | p99 | gateway + provider CPU per request |", "|---|---|---|---|---|"]
    for key, m in gateway["median"].items():
        path, conns = key.split("_c")
        lines.append(f"| {path}, {conns} connection{'s' if conns != '1' else ''} | {m['throughput_rps']:,.0f} | "
                     f"{m['p50_ms']:.2f} ms | {m['p99_ms']:.2f} ms | {m['platform_cpu_ms_per_request']:.3f} ms |")
    for conns, a in gateway["added_by_gateway"].items():
        lines.append(f"\nThe gateway adds {a['p50_ms']:.2f} ms at p50 with {conns[1:]} connection(s) and keeps "
                     f"{a['throughput_ratio']:.0%} of the direct throughput.")
    lines += ["", f"Cold starts through the gateway, medians of {len(cold['docker_run']['runs'])} interleaved runs, "
                  "seconds after the request (the breakdown: Docker's events and the gateway's log):", "",
              *tables.cold_starts(cold)]
    return "\n".join(lines)


def parser() -> Any:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--clients", type=int, default=4, help="clients calling during an update (default 4)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved gateway/direct rounds (default 3)")
    p.add_argument("--runs", type=int, default=5, help="cold starts per mode (default 5)")
    p.add_argument("--rest", type=float, default=30.0, help="seconds the replica's CPU at rest is measured (default 30)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="where the JSON files go (the default also rewrites docs/deploy.md's table)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    folder = openfaas.stack_dir()
    if folder is None:
        print(f"rollout: {openfaas.missing()}", file=sys.stderr)
        return 1
    stack = openfaas.Stack(folder)
    trees = Path(tempfile.mkdtemp(prefix="rollout-"))
    date = cli.now()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        stack.up()
        stack.faas_cli("up", "-f", "stack.yml", env=openfaas.build_env(TAGS["A"]))
        launch.wait_for_prediction(stack.function_url(), 180)
        version = json.loads(launch.http("GET", stack.function_url("/metadata"))[1])["model_version"]
        built = {"B": build(stack, TAGS["B"], openfaas.variant(trees / "B", model_version=f"{version}-next")),
                 "C": build(stack, TAGS["C"], openfaas.variant(trees / "C", code_note="a code change"))}
        rollout = {
            "date": date, "clients": args.clients, "machine": "2 cores, shared with other jobs",
            "update": roll(stack, TAGS["B"], f"{version}-next", args.clients),
            "rollback": roll(stack, TAGS["A"], version, args.clients),
            "build_and_push_s": {k: round(v, 2) for k, v in built.items()},
            "pulled_bytes": {"model": pulled_bytes(openfaas.REGISTRY, openfaas.REPOSITORY, TAGS["A"], TAGS["B"]),
                             "code": pulled_bytes(openfaas.REGISTRY, openfaas.REPOSITORY, TAGS["A"], TAGS["C"])},
            "image_bytes": {k: int(launch.docker("image", "inspect", "-f", "{{.Size}}", image(t)))
                            for k, t in TAGS.items()},
            "layers": {k: len(layers(image(t))) for k, t in TAGS.items()},
            "at_rest": rest_cost(args.rest),
        }
        gateway = {"date": date, "machine": "2 cores, shared with other jobs", "access_log": "on (as deployed)",
                   **gateway_cost(stack, [1, 8], args.duration, args.rounds)}
        cold = cold_starts(stack, args.runs, args.out / "coldstart-openfaas.json")
    except (RuntimeError, TimeoutError, OSError) as e:
        print(f"rollout: {e}", file=sys.stderr)
        return 1
    finally:
        stack.down()
        shutil.rmtree(trees, ignore_errors=True)
        for tag in TAGS.values():
            launch.docker("rmi", "-f", image(tag), check=False)  # ours; a stopping task may still hold it
    cli.write_json(args.out / "rollout.json", rollout, say=False)
    cli.write_json(args.out / "gateway.json", gateway, say=False)
    text = table(rollout, gateway, cold)
    print(text)
    if args.out == DEFAULT_OUT:
        readme.replace_section("rollout", text, DEPLOY_DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
