"""Cold start: the time from starting a target to its first successful prediction, measured
the same way in every mode: targets interleaved (A B A B ...) so that the machine's drift spreads
over all of them, each run timed, the runs summarised in one result. Here that loop and the modes
that need only Docker (scripts/coldstart.py says what each means): a process, a present image
under `docker run`, and a pull on a fresh node from a local registry (Debian's docker-registry
started on loopback; before each pull every local image sharing a layer removed, and given back
at the end; what a pull of a tag costs in compressed bytes, from the manifests). The modes with a
client of their own use this loop from their module: through the OpenFaaS gateway
(harness/gateway.py), under the Lambda runtime emulator (harness/lambda_rie.py). Standard library
only: the docker and pull modes run under a bare python3 on a host that only has Docker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import cli, launch
from harness.launch import FLOOR, TARGETS
from harness.stats import spread

PROCESS_TARGETS = ("function", "tensorflow")


# -- the loop every mode shares ---------------------------------------------------------------

def interleave(targets: list[str], runs: int) -> list[str]:
    """A B A B ...: each round runs every target once."""
    return [t for _ in range(runs) for t in targets]


def measure(order: list[str], one: Callable[[str], dict[str, Any]], quiet: bool = False) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {t: [] for t in dict.fromkeys(order)}
    for target in cli.progress(order, "cold starts", quiet):
        runs[target].append(one(target))
    return runs


def result(mode: str, found: dict[str, list[dict]], extra: dict[str, Any] | None = None,
           keep_runs: bool = True) -> dict[str, Any]:
    """A mode's result: its runs (unless the mode keeps them per way, in `extra`) and their
    statistics, dated."""
    out = {"mode": mode, "date": cli.now(), **(extra or {}),
           "stats": {t: spread([r["seconds"] for r in rs]) for t, rs in found.items()}}
    if keep_runs:
        out["runs"] = found
    return out


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


def show(result: dict[str, Any], path: Path | None) -> None:
    """The table on stdout, and every run and the statistics in `path` (when given)."""
    print(table(result))
    if path:
        cli.write_json(path, result, say=False)


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


# -- a pull on a fresh node, from a local registry ---------------------------------------------

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def manifest(address: str, repository: str, tag: str) -> dict[str, Any]:
    """A pushed tag's manifest (v2 schema 2)."""
    code, body = launch.http("GET", f"http://{address}/v2/{repository}/manifests/{tag}",
                             headers={"Accept": MANIFEST_V2})
    if code != 200:
        raise RuntimeError(f"{address}/{repository}:{tag} is not in the registry ({code})")
    return json.loads(body)


def blobs(address: str, repository: str, tag: str) -> dict[str, int]:
    """Digest -> compressed size of every layer of a pushed tag, and of its config."""
    found = manifest(address, repository, tag)
    return {b["digest"]: b["size"] for b in [*found["layers"], found["config"]]}


def pulled_bytes(address: str, repository: str, held: str, wanted: str) -> int:
    """Compressed bytes a node holding tag `held` pulls to run tag `wanted` (blobs it lacks)."""
    have = blobs(address, repository, held)
    return sum(size for digest, size in blobs(address, repository, wanted).items() if digest not in have)


def layers(image: str) -> list[str]:
    """An image's layers, bottom first (RootFS diff IDs, as `docker image inspect` shows them)."""
    return json.loads(launch.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", image)) or []


class Registry:
    """A local registry: Debian's docker-registry on 127.0.0.1, or the one given."""

    def __init__(self, address: str | None):
        self.proc = None
        self.dir = None
        if address:
            self.address = address
            return
        exe = shutil.which("docker-registry")
        if not exe:
            raise RuntimeError("docker-registry not found: apt-get install -y docker-registry, or pass --registry")
        self.address = f"127.0.0.1:{launch.free_port()}"
        self.dir = tempfile.mkdtemp(prefix="coldstart-registry-")
        config = Path(self.dir) / "config.yml"
        config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.dir}/data\n"
                          f"http:\n  addr: {self.address}\n")
        self.proc = subprocess.Popen([exe, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            launch.wait_until_ok(f"http://{self.address}/v2/", timeout=20, what="the local registry",
                                 alive=lambda: self.proc.poll() is None)
        except (TimeoutError, RuntimeError) as e:
            self.close()
            raise RuntimeError(f"the local registry did not start: {e}") from None

    def name(self, image: str) -> str:
        return f"{self.address}/{image.split(':')[0].split('/')[-1]}:coldstart"

    def compressed_bytes(self, remote: str) -> int:
        repo, tag = remote.split("/", 1)[1].rsplit(":", 1)
        return sum(blobs(self.address, repo, tag).values())

    def close(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def sharing_images(image: str) -> tuple[list[str], list[str]]:
    """Other local images that share a layer with `image`, whose layers would make a pull skip
    that layer: (tagged ones by name, its base for one; untagged ones by id: earlier builds of
    it and its build cache)."""
    mine = set(layers(image))
    own = launch.docker("image", "inspect", "-f", "{{.Id}}", image)
    tagged, untagged = [], []
    for line in launch.docker("images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").splitlines():
        iid, ref = line.split(" ", 1)
        if iid != own and mine.intersection(layers(iid)):
            (untagged if "<none>" in ref else tagged).append(iid if "<none>" in ref else ref)
    return tagged, untagged


class PullBench:
    """Push once, then before each run remove everything that could be cached."""

    def __init__(self, images: list[str], registry: Registry):
        self.registry = registry
        self.remote = {image: registry.name(image) for image in images}
        self.path = {image: launch.image_target(image).predict_path for image in images}
        self.saved = Path(tempfile.mkdtemp(prefix="coldstart-saved-")) / "images.tar"
        found = [sharing_images(image) for image in images]
        shared = sorted({ref for tagged, _ in found for ref in tagged} - set(images))
        # Untagged images cannot be given back under a name: they are removed, and only they (no
        # `docker image prune`, which would take every dangling image the user has).
        self.untagged = sorted({iid for _, untagged in found for iid in untagged})
        if self.untagged:
            print(f"coldstart: removing {len(self.untagged)} untagged image(s) sharing layers with "
                  f"{', '.join(images)} (earlier builds, build cache); nothing else", file=sys.stderr)
        for image in images:
            launch.docker("tag", image, self.remote[image])
            launch.docker("push", self.remote[image])
        if shared:  # restored at the end: removing them is what makes the node fresh
            launch.docker("save", "-o", str(self.saved), *shared)
        self.shared = shared
        self.bytes = {image: registry.compressed_bytes(self.remote[image]) for image in images}

    def forget(self) -> None:
        for ref in list(self.remote.values()) + list(self.remote) + self.shared + self.untagged:
            launch.docker("rmi", "-f", ref, check=False)

    def run(self, image: str) -> dict[str, Any]:
        self.forget()
        remote = self.remote[image]
        started = time.perf_counter()
        launch.docker("pull", "-q", remote)
        pulled = time.perf_counter() - started
        name, url = launch.docker_run(remote, launch.own_name("device-price-coldstart"))
        try:
            seconds = launch.wait_for_prediction(url + self.path[image], 300, started)
        finally:
            launch.stop_container(name)
        return {"seconds": seconds, "pull_seconds": pulled, "compressed_bytes": self.bytes[image]}

    def restore(self) -> None:
        for image, remote in self.remote.items():
            if not launch.docker("images", "-q", remote):
                launch.docker("pull", "-q", remote)
            launch.docker("tag", remote, image)
            launch.docker("rmi", remote, check=False)
        if self.shared:
            launch.docker("load", "-i", str(self.saved))
        shutil.rmtree(self.saved.parent, ignore_errors=True)


def run(mode: str, runs: int, targets: list[str] | None = None, site: Path | None = None, floor: bool = False,
        images: list[str] | tuple[str, ...] = (), registry_address: str | None = None,
        quiet: bool = False) -> dict[str, Any]:
    """`runs` cold starts of each target in the process, docker or pull mode. RuntimeError,
    TimeoutError, KeyError or OSError when one fails."""
    floors = [FLOOR] if floor else []
    images = list(images)
    if mode == "process":
        order = interleave(list(targets or PROCESS_TARGETS) + floors, runs)
        found = measure(order, lambda t: time_process(t, site), quiet)
        return result(mode, found, {"site": str(site) if site else "the current environment"})
    if mode == "docker":
        return result(mode, measure(interleave(images + floors, runs), lambda t: time_docker(t, images[0]), quiet))
    # pull: a fresh node before every run, from a registry of our own unless one is given
    local = Registry(registry_address)
    bench = None
    try:
        bench = PullBench(images, local)
        return result(mode, measure(interleave(images, runs), bench.run, quiet))
    finally:
        if bench:
            bench.restore()
        local.close()
