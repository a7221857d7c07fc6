"""The shape of fn/: layers that import only downward (import-linter's contract in pyproject.toml),
and files short enough to read, in fn/ and convert/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300


def test_the_layers_import_only_downward():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout


def test_every_module_of_fn_belongs_to_a_layer():
    """A new top-level module must be named in the contract, or it escapes it."""
    contract = (ROOT / "pyproject.toml").read_text()
    for path in (ROOT / "fn").glob("*.py"):
        if path.stem != "__init__":
            assert f"fn.{path.stem}" in contract, f"fn/{path.name} is in no layer of [tool.importlinter]"
    for package in (p for p in (ROOT / "fn").iterdir() if (p / "__init__.py").exists()):
        assert f'"fn.{package.name}"' in contract, f"fn/{package.name}/ is in no layer of [tool.importlinter]"


@pytest.mark.parametrize("package", ["fn", "convert"])
def test_no_file_exceeds_300_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by concern: {long}"
