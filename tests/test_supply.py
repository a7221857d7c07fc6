"""The images' Python packages come from hash-pinned wheels: a tampered wheel fails the install."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT


def pins(path: str) -> dict[str, tuple[str, str]]:
    """name -> (version, sha256) from a requirements file in pip's hash-checking form."""
    text = (ROOT / path).read_text()
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{64})", text, re.M)
    return {name: (version, digest) for name, version, digest in found}


def test_every_image_requirement_is_pinned_with_a_hash():
    for path in ("requirements/serve.txt", "requirements/tf.txt"):
        lines = [ln for ln in (ROOT / path).read_text().splitlines() if "==" in ln]
        assert lines and len(pins(path)) == len(lines), path
    assert set(pins("requirements/serve.txt")) == {"numpy", "tflite-runtime", "waitress"}


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
