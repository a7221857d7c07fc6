"""The images' Python packages come from hash-pinned wheels: a tampered wheel fails the install."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{64})", re.M)


def pins(path: str) -> dict[str, tuple[str, str]]:
    """name -> (version, first sha256) from a requirements file in pip's hash-checking form, with
    those of the files it includes (-r, relative to it, as pip reads them)."""
    text = (ROOT / path).read_text()
    found = {}
    for included in re.findall(r"^-r (\S+)", text, re.M):
        found |= pins(str(Path(path).parent / included))
    return found | {name: (version, digest) for name, version, digest in PIN.findall(text)}


IMAGE_REQUIREMENTS = ("requirements/common.txt", "requirements/serve.txt", "requirements/numpy.txt",
                      "requirements/numpy-build.txt", "requirements/tf.txt")


def test_every_image_requirement_is_pinned_with_a_hash():
    for path in IMAGE_REQUIREMENTS:
        text = (ROOT / path).read_text()
        lines = [ln for ln in text.splitlines() if "==" in ln and not ln.startswith("#")]
        assert lines and len(PIN.findall(text)) == len(lines), path
    assert set(pins("requirements/serve.txt")) == {"tflite-runtime", "waitress", "prometheus-client"}
    # The TensorFlow reference serves through the same code: all the slim images install but
    # their runtime (it once lacked prometheus-client and could not start).
    assert set(pins("requirements/serve.txt")) - {"tflite-runtime"} <= set(pins("requirements/tf.txt"))
    assert set(pins("requirements/numpy.txt")) == {"numpy"}  # its source: compiled without BLAS in the image
    assert "--no-binary numpy" in (ROOT / "requirements/numpy.txt").read_text()


@pytest.mark.parametrize("platform", ["x86_64", "aarch64"])
def test_serving_wheels_resolve_for_both_architectures(platform, tmp_path):
    """What the images install from wheels, for Linux x86_64 and arm64 (Raspberry Pi, Apple Silicon
    nodes): every wheel exists for CPython 3.11 there and matches a pinned hash."""
    tags = {"x86_64": ["manylinux2014_x86_64"], "aarch64": ["manylinux2014_aarch64", "manylinux_2_34_aarch64"]}
    for reqs in ("requirements/serve.txt", "requirements/numpy-build.txt"):
        got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                              "--require-hashes", "--python-version", "3.11", "--implementation", "cp",
                              *[a for tag in tags[platform] for a in ("--platform", tag)],
                              "-d", str(tmp_path / platform), "-r", str(ROOT / reqs)], capture_output=True, text=True)
        assert got.returncode == 0, got.stderr[-2000:]
    wheels = sorted(p.name for p in (tmp_path / platform).glob("*.whl"))
    assert any(w.startswith("tflite_runtime-2.14.0-cp311") and platform in w for w in wheels), wheels


def test_tampered_wheel_is_refused(tmp_path):
    """waitress (pure Python, small) from a wheelhouse, once intact and once with one file changed."""
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    req = tmp_path / "req.txt"
    version, digest = pins("requirements/serve.txt")["waitress"]
    req.write_text(f"waitress=={version} --hash=sha256:{digest}\n")
    got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                          "--require-hashes", "-r", str(req), "-d", str(wheelhouse)], capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"cannot download the wheel here: {got.stderr[-300:]}")
    (wheel,) = wheelhouse.glob("waitress-*.whl")

    def install() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links",
                               str(wheelhouse), "--require-hashes", "--target", str(tmp_path / "site"), "-r", str(req)],
                              capture_output=True, text=True)

    assert install().returncode == 0
    tampered = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data + b"\n# tampered\n" if item.filename.endswith("server.py") else data)
    tampered.replace(wheel)
    refused = install()
    assert refused.returncode != 0 and "hash" in refused.stderr.lower()
