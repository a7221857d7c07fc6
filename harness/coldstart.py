"""Cold start: the time from starting a target to its first successful prediction, in the modes
that need only this machine (scripts/coldstart.py says what each means): a process, and a present
image under `docker run`, each beside its floor (what no server can beat). The rounds every mode is
measured in are harness/stats.py's; the modes with a module of their own: a pull from a local
registry (harness/registry.py), through the OpenFaaS gateway (harness/gateway.py), under the Lambda
runtime emulator (harness/lambda_rie.py). Standard library only: the docker mode runs under a bare
python3 on a host that only has Docker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import launch, stats
from harness.launch import FLOOR, PROCESS_TARGETS, TARGETS

# -- a process, a present image ---------------------------------------------------------------

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


def time_image(image: str, floor_image: str) -> dict[str, Any]:
    """`docker run` -> first prediction of `image`; of FLOOR, `docker run` of a container of
    `floor_image` that exits at once."""
    if image == FLOOR:
        return time_exit(["docker", "run", "--rm", "--read-only", "--entrypoint", "/usr/bin/python3", floor_image,
                          "-I", "-S", "-c", "pass"])
    return launch.time_docker(image)



def run(mode: str, runs: int, targets: list[str] | None = None, site: Path | None = None, floor: bool = False,
        images: list[str] | tuple[str, ...] = (), quiet: bool = False) -> dict[str, Any]:
    """`runs` cold starts of each target in the process or docker mode. RuntimeError,
    TimeoutError, KeyError or OSError when one fails."""
    floors = [FLOOR] if floor else []
    images = list(images)
    if mode == "process":
        order = stats.interleave(list(targets or PROCESS_TARGETS) + floors, runs)
        found = stats.measure(order, lambda t: time_process(t, site), quiet)
        return stats.result(mode, found, {"site": str(site) if site else "the current environment"})
    return stats.result(mode, stats.measure(stats.interleave(images + floors, runs),
                                            lambda t: time_image(t, images[0]), quiet))
