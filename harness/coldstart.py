"""Cold start: the time from starting a target to its first successful prediction, in five
modes (scripts/coldstart.py says what each means): a process, a present image under `docker run`,
a pull on a fresh node (harness/registry.py), a function behind the OpenFaaS gateway
(harness/gateway.py), the image under the Lambda runtime emulator (harness/lambda_rie.py).
Targets are interleaved (A B A B ...) so that the machine's drift spreads
over all of them. Standard library only: the docker, pull and openfaas modes run under a bare
python3 on a host that only has Docker.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import cli, gateway, lambda_rie, launch, registry, swarm
from harness.launch import FLOOR, TARGETS
from harness.stats import spread

PROCESS_TARGETS = ("function", "tensorflow")


def with_site(site: Path | None) -> dict[str, str]:
    """The environment that puts a package folder first on the path (the function's, the floor's)."""
    return {"PYTHONPATH": os.pathsep.join([str(site.resolve()), str(launch.ROOT)])} if site else {}


def time_exit(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Seconds for a command that exits at once (a floor)."""
    started = time.perf_counter()
    proc = subprocess.run(args, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])}: {proc.stderr.strip()[-300:]}")
    return {"seconds": seconds}


def interleave(targets: list[str], runs: int) -> list[str]:
    """A B A B ...: each round runs every target once."""
    return [t for _ in range(runs) for t in targets]


def time_process(name: str, site: Path | None = None) -> dict[str, Any]:
    if name == FLOOR:
        return time_exit([sys.executable, "-c", "import numpy, tflite_runtime.interpreter"], with_site(site))
    target = TARGETS[name]
    port = launch.free_port()
    started = time.perf_counter()
    proc = launch.start_process(target, port, {**launch.QUIET, **(with_site(site) if name == "function" else {})})
    try:
        seconds = launch.wait_for_prediction(f"http://127.0.0.1:{port}{target.predict_path}", 120, started,
                                             lambda: proc.poll() is None)
    finally:
        launch.stop_process(proc)
    return {"seconds": seconds}


def time_docker(image: str, floor_image: str | None = None) -> dict[str, Any]:
    if image == FLOOR:
        return time_exit(["docker", "run", "--rm", "--read-only", "--entrypoint", "/usr/bin/python3", floor_image,
                          "-I", "-S", "-c", "pass"])
    path = launch.image_target(image).predict_path  # asked before the clock starts
    started = time.perf_counter()
    name, url = launch.docker_run(image, launch.own_name("device-price-coldstart"))
    try:
        return {"seconds": launch.wait_for_prediction(url + path, 120, started)}
    finally:
        launch.stop_container(name)


def time_lambda(image: str, runs: int, memory_mb: int, cpu_share: bool, quiet: bool) -> tuple[dict, dict]:
    """The image under the Lambda emulator beside its own HTTP cold start, interleaved: (runs per
    target, the JSON's "lambda", "function" and "invocation" keys)."""
    one = {"lambda": lambda: lambda_rie.time_cold(image, memory_mb, cpu_share), "function": lambda: time_docker(image)}
    measured = measure(interleave(["lambda", "function"], runs), lambda t: one[t](), quiet)
    cold, warm = measured["lambda"], [ms for r in measured["lambda"] for ms in r["duration_ms"]]
    inits = [r["init_ms"] for r in cold if r["init_ms"] is not None]
    peaks = [r["max_memory_mb"] for r in cold if r["max_memory_mb"] is not None]
    return measured, {
        "image": image, "memory_mb": memory_mb, "cpu_share": cpu_share,
        "lambda": {"median_s": statistics.median([r["seconds"] for r in cold]), "runs": [r["seconds"] for r in cold],
                   "init_ms_median": statistics.median(inits) if inits else None},
        "function": {"median_s": statistics.median([r["seconds"] for r in measured["function"]])},
        "invocation": {"duration_ms_median": statistics.median(warm) if warm else None,
                       "max_memory_mb": max(peaks) if peaks else None}}


def measure(order: list[str], one: Callable[[str], dict[str, Any]], quiet: bool = False) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {t: [] for t in dict.fromkeys(order)}
    for target in cli.progress(order, "cold starts", quiet):
        runs[target].append(one(target))
    return runs


def table(result: dict[str, Any]) -> str:
    lines = [f"mode {result['mode']}: seconds from start to the first successful prediction",
             f"{'target':<34}{'n':>3}{'min':>8}{'median':>8}{'p90':>8}{'max':>8}"]
    for target, s in result["stats"].items():
        lines.append(f"{target:<34}{s['n']:>3}{s['min']:>8.3f}{s['median']:>8.3f}{s['p90']:>8.3f}{s['max']:>8.3f}")
    for target, runs in result.get("runs", {}).items():
        if runs and "compressed_bytes" in runs[0]:
            lines.append(f"{target}: {runs[0]['compressed_bytes'] / 1e6:.1f} MB compressed pulled per run")
    for way in ("scale_from_zero", "deploy"):
        if way in result:
            lines.append(f"{way}, median seconds after the request: " + ", ".join(
                f"{k} {v:.3f}" if v is not None else f"{k} -" for k, v in result[way]["breakdown_median_s"].items()))
    return "\n".join(lines)


def run(mode: str, runs: int, targets: list[str] | None = None, site: Path | None = None, floor: bool = False,
        images: list[str] | tuple[str, ...] = (), registry_address: str | None = None,
        gateway_url: str = "http://127.0.0.1:8080", function: str = "device-price", edition: str = "auto",
        gateway_container: str = "openfaas-gateway", memory_mb: int = 1769, cpu_share: bool = False,
        quiet: bool = False) -> dict[str, Any]:
    """`runs` cold starts of each target in one mode: every run and its statistics, dated.
    RuntimeError, TimeoutError, KeyError or OSError when one fails."""
    extra: dict[str, Any] = {}
    floors = [FLOOR] if floor else []
    images = list(images)
    if mode == "process":
        order = interleave(list(targets or PROCESS_TARGETS) + floors, runs)
        found = measure(order, lambda t: time_process(t, site), quiet)
        extra = {"site": str(site) if site else "the current environment"}
    elif mode == "docker":
        found = measure(interleave(images + floors, runs), lambda t: time_docker(t, images[0]), quiet)
    elif mode == "lambda":
        found, extra = time_lambda(images[0], runs, memory_mb, cpu_share, quiet)
    elif mode == "pull":
        local = registry.Registry(registry_address)
        bench = None
        try:
            bench = registry.PullBench(images, local)
            found = measure(interleave(images, runs), bench.run, quiet)
        finally:
            if bench:
                bench.restore()
            local.close()
    else:
        api = gateway.Gateway(gateway_url, os.environ.get("OPENFAAS_USERNAME", "admin"),
                              os.environ.get("OPENFAAS_PASSWORD"), function)
        status = api.status()
        if status is None:
            raise RuntimeError(f"{function} is not deployed on {gateway_url}: deploy it first "
                               "(faas-cli up -f stack.yml)")
        spec = gateway.deployment(status, function, gateway.swarm_fields(function))
        edition = gateway.detect_edition(api) if edition == "auto" else edition
        logs = lambda since: swarm.container_logs(gateway_container, since)  # noqa: E731
        ways = {"scale_from_zero": lambda: gateway.time_scale_from_zero(api, edition, logs),
                "deploy": lambda: gateway.time_deploy(api, spec, logs),
                "docker_run": lambda: time_docker(status["image"])}
        found = measure(interleave(list(ways), runs), lambda way: ways[way](), quiet)
        extra = {"gateway": gateway_url, "edition": edition, "image": status["image"], **gateway.summary(found)}
    result = {"mode": mode, "date": cli.now(), **extra,
              "stats": {t: spread([r["seconds"] for r in rs]) for t, rs in found.items()}}
    if mode != "openfaas":  # there each way keeps its own runs
        result["runs"] = found
    return result


def show(result: dict[str, Any], path: Path | None) -> None:
    """The table on stdout, and every run and the statistics in `path` (when given)."""
    print(table(result))
    if path:
        cli.write_json(path, result, say=False)
