"""stack.yml in faas-cli 0.18's schema, and the build context faas-cli makes from it giving
the same image as `docker build -f Dockerfile.fn`."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    ROOT,
    expand,
)

FUNCTION_FIELDS = {"lang", "handler", "image", "fprocess", "environment", "environment_file", "secrets",
                   "skip_build", "constraints", "labels", "annotations", "limits", "requests",
                   "readonly_root_filesystem", "build_options", "build_args", "build_secrets", "platforms",
                   "namespace"}


@pytest.fixture(scope="module")
def stack() -> dict:
    return yaml.safe_load(expand((ROOT / "stack.yml").read_text(), {}))


def test_stack_schema(stack):
    assert set(stack) <= {"version", "provider", "functions", "configuration"}
    assert str(stack["version"]) == "1.0"
    assert stack["provider"] == {"name": "openfaas", "gateway": "http://127.0.0.1:8080"}
    assert list(stack["functions"]) == ["device-price"]
    fn = stack["functions"]["device-price"]
    assert set(fn) <= FUNCTION_FIELDS
    assert fn["lang"] == "dockerfile" and fn["readonly_root_filesystem"] is True
    assert "/" in fn["image"]  # push needs a registry prefix
    assert int(fn["labels"]["com.openfaas.scale.max"]) <= 5  # CE's cap
    assert all(isinstance(v, (str, int)) for v in fn["environment"].values())
    for section in ("limits", "requests"):
        assert set(fn[section]) <= {"memory", "cpu"}
    assert yaml.safe_load((ROOT / "template/dockerfile/template.yml").read_text())["language"] == "dockerfile"
    handler = ROOT / fn["handler"]
    assert (handler / "Dockerfile").resolve() == (ROOT / "Dockerfile.fn").resolve()


def test_registry_and_tag_come_from_environment():
    stack = yaml.safe_load(expand((ROOT / "stack.yml").read_text(), {"REGISTRY": "ghcr.io/me", "TAG": "v2"}))
    assert stack["functions"]["device-price"]["image"] == "ghcr.io/me/device-price:v2"


def faas_context(stack: dict, dest: Path) -> Path:
    """What faas-cli build does for lang: dockerfile: the handler folder's entries (symlinks
    followed; top-level build and template skipped), then each configuration.copy path at
    the same relative path."""
    fn = stack["functions"]["device-price"]
    handler = ROOT / fn["handler"]
    for entry in handler.iterdir():
        if entry.name in ("build", "template"):
            continue
        copy(entry, dest / entry.name)
    for extra in stack["configuration"]["copy"]:
        copy(ROOT / extra, dest / extra)
    return dest


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copyfile(src, dst)


def image_tree(image: str) -> dict[str, str]:
    """Path -> content hash (or link target, or 'dir') of every entry in an image."""
    cid = subprocess.run(["docker", "create", image], capture_output=True, text=True, check=True).stdout.strip()
    try:
        tar_bytes = subprocess.run(["docker", "export", cid], capture_output=True, check=True).stdout
    finally:
        subprocess.run(["docker", "rm", cid], capture_output=True)
    tree = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar:
            if member.name.startswith(("dev/", "etc/", "proc/", "sys/")) or member.name in (".dockerenv", "dev",
                                                                                             "etc", "proc", "sys"):
                continue  # Docker adds these when it creates a container
            if member.isfile():
                tree[member.name] = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
            elif member.issym():
                tree[member.name] = "-> " + member.linkname
            else:
                tree[member.name] = "dir"
    return tree


def test_faas_cli_context_builds_the_same_image(stack, fn_image, tmp_path):
    context = faas_context(stack, tmp_path / "build" / "device-price")
    assert (context / "Dockerfile").read_text() == (ROOT / "Dockerfile.fn").read_text()
    fn = stack["functions"]["device-price"]
    args = []
    base = "device-price-base:bookworm-cc"
    if subprocess.run(["docker", "image", "inspect", base], capture_output=True).returncode == 0:
        args = ["--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"BUILDER_IMAGE={base}", "--build-arg", "OFFLINE=1"]
    else:
        args = [a for k, v in fn["build_args"].items() if v for a in ("--build-arg", f"{k}={v}")]
    proc = subprocess.run(["docker", "build", "-q", "-t", "device-price-fn:faas-context", *args, "."],
                          cwd=context, capture_output=True, text=True, env=dict(os.environ, DOCKER_BUILDKIT="0"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    try:
        faas_tree, make_tree = image_tree("device-price-fn:faas-context"), image_tree(fn_image)
        assert len(make_tree) > 500
        assert faas_tree == make_tree
    finally:
        subprocess.run(["docker", "rmi", "device-price-fn:faas-context"], capture_output=True)
