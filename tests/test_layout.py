"""The shape of the code: fn/'s layers and the tools' (commands over harness/ over fn/, no
command importing another) import only downward (import-linter's contracts in pyproject.toml),
and every Python file outside tests/ is short enough to read."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300
# Not the project's code: build output, the virtualenv, vendored wheels.
NOT_CODE = {"tests", "build", "wheelhouse"}
# Commands run as files, which put the repository on sys.path themselves: the design card's
# `python scripts/coldstart.py`.
AS_FILES = {"scripts/coldstart.py"}


def test_the_layers_import_only_downward():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 kept, 0 broken" in proc.stdout


def test_every_module_of_fn_belongs_to_a_layer():
    """A new top-level module must be named in the contract, or it escapes it."""
    contract = (ROOT / "pyproject.toml").read_text()
    for path in (ROOT / "fn").glob("*.py"):
        if path.stem != "__init__":
            assert f"fn.{path.stem}" in contract, f"fn/{path.name} is in no layer of [tool.importlinter]"
    for package in (p for p in (ROOT / "fn").iterdir() if (p / "__init__.py").exists()):
        assert f'"fn.{package.name}"' in contract, f"fn/{package.name}/ is in no layer of [tool.importlinter]"


def python_files() -> list[Path]:
    return [p for top in ROOT.iterdir() if top.is_dir() and not top.name.startswith(".") and top.name not in NOT_CODE
            for p in top.rglob("*.py")]


def test_no_python_file_outside_tests_exceeds_300_lines():
    found = python_files()
    assert {"fn", "harness", "scripts", "convert", "baseline"} <= {p.relative_to(ROOT).parts[0] for p in found}
    long = {str(p.relative_to(ROOT)): n for p in found if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by concern: {long}"


def test_no_test_module_imports_another():
    """What two test modules share lives in tests/helpers.py (fixtures in conftest.py, which pytest
    loads itself): a test module imported by another would run its tests twice and tie the two."""
    for path in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                module = name.removeprefix("tests.")
                assert not (module.startswith("test_") or module == "conftest"), f"{path.name} imports {name}"


def test_only_the_commands_run_as_files_touch_sys_path():
    """Everything else is imported as a package (python -m scripts.NAME), so no file needs a shim."""
    shims = {str(p.relative_to(ROOT)) for p in python_files() if "sys.path.insert" in p.read_text()}
    assert shims <= AS_FILES, f"sys.path shims: {sorted(shims - AS_FILES)}"
    assert "scripts/coldstart.py" in shims
