"""A registry and a pull from it: what a pull of a pushed tag costs in compressed bytes (its
manifest's blobs; what a node holding one tag pulls to run another), an image's layers, a local
registry (Debian's docker-registry started on loopback), and the cold-start command's pull mode: a
fresh node before every run, every local image sharing a layer with the image removed first and
given back at the end. Standard library only: the pull mode runs under a bare python3 on a host
that only has Docker."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import launch

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
