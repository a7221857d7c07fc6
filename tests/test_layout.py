"""The shape of the code: fn/'s layers and the tools' (commands over harness/ over fn/, no
command importing another) import only downward (import-linter's contracts in pyproject.toml),
every Python file outside tests/ is short enough to read, and a benchmark reads end to end in its
command plus a few library modules (per mode, for a command with modes)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300
# Not the project's code: build output, the virtualenv, vendored wheels.
NOT_CODE = {"tests", "build", "wheelhouse"}
# Commands run as files, which put the repository on sys.path themselves: the design card's
# `python scripts/coldstart.py`.
AS_FILES = {"scripts/coldstart.py"}
# The measuring commands, and how many library modules (harness/, scripts/fleet/, their
# __init__.py aside) one may read in, those they import and those import, all told; a command with
# modes (scripts/coldstart.py) reads its own modules per mode, each mode importing its one in its
# branch of the command's `measure`.
BENCHMARKS = re.compile(r"bench_.*|loadtest|openloop|compare_images|coldstart|probe_cost|rollout|gateway|soak|chaos|report")
MAX_LIBRARY = 4

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


def _imported(nodes: list[ast.AST], inside: bool = True) -> set[Path]:
    """The library modules these statements import (anywhere inside them, or only themselves)."""
    found = set()
    for node in (n for top in nodes for n in (ast.walk(top) if inside else [top])):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            module = ROOT / (name.replace(".", "/") + ".py")
            if module.exists() and module.parent in (ROOT / "harness", ROOT / "scripts" / "fleet"):
                found.add(module)
    return found


def _library_imports(path: Path, top_level_only: bool = False) -> set[Path]:
    """The library modules a file imports (anywhere in it, or only outside its functions)."""
    tree = ast.parse(path.read_text())
    return _imported(tree.body, inside=False) if top_level_only else _imported([tree])


def library_closure(command: Path, top_level_only: bool = False, extra: set[Path] = frozenset()) -> list[str]:
    """Every library module a command reads in: those it imports (and `extra`), and theirs, transitively."""
    seen: set[Path] = set()
    todo = [*_library_imports(command, top_level_only), *extra]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += _library_imports(module)
    return sorted(str(p.relative_to(ROOT)) for p in seen)


def mode_imports(command: Path) -> dict[str, set[Path]]:
    """A command with modes: what each mode's branch of its `measure` imports, by mode (`if
    args.mode == "x":` or `if args.mode in ("x", "y"):`); {} for a command without."""
    tree = ast.parse(command.read_text())
    measure = next((f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "measure"), None)
    found: dict[str, set[Path]] = {}
    for node in measure.body if measure else []:
        test = node.test if isinstance(node, ast.If) else None
        if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Attribute) and test.left.attr == "mode"
                and isinstance(test.ops[0], ast.Eq | ast.In)):
            modes = ast.literal_eval(test.comparators[0])
            for mode in [modes] if isinstance(modes, str) else modes:
                found[mode] = _imported(node.body)
    return found


def reads(command: str) -> dict[str, list[str]]:
    """The library modules a benchmark reads in: per mode where it has modes, else under ""."""
    path = ROOT / "scripts" / f"{command}.py"
    modes = mode_imports(path)
    return ({mode: library_closure(path, True, imports) for mode, imports in modes.items()} if modes
            else {"": library_closure(path)})


def benchmarks() -> list[str]:
    return [p.stem for p in sorted((ROOT / "scripts").glob("*.py")) if BENCHMARKS.fullmatch(p.stem)]


@pytest.mark.parametrize("command", benchmarks())
def test_a_benchmark_reads_in_its_command_and_at_most_four_library_modules(command):
    for mode, modules in reads(command).items():
        assert len(modules) <= MAX_LIBRARY, f"scripts/{command}.py {mode} reads {len(modules)} library modules: {modules}"


def test_each_cold_start_mode_reads_in_its_own_module_and_no_other_modes():
    """scripts/coldstart.py: every mode has its branch, and the library modules the command imports
    anywhere are those its modes read in, all told (none escapes the count by being imported
    elsewhere in a function); each mode's module is its own."""
    path = ROOT / "scripts" / "coldstart.py"
    modes = reads("coldstart")
    choices = {"process", "docker", "pull", "openfaas", "lambda"}
    assert set(modes) == choices
    assert set(library_closure(path)) == {m for modules in modes.values() for m in modules}
    own = {"process": "coldstart", "docker": "coldstart", "pull": "registry", "openfaas": "gateway",
           "lambda": "lambda_rie"}
    for mode, modules in modes.items():
        assert f"harness/{own[mode]}.py" in modules, (mode, modules)
        assert not {f"harness/{m}.py" for m in own.values() if m != own[mode]} & set(modules), (mode, modules)


def test_every_benchmark_is_known():
    """The pattern above names the benchmarks: a new measuring command is one of them."""
    found = {p.stem for p in (ROOT / "scripts").glob("*.py") if BENCHMARKS.fullmatch(p.stem)}
    assert {"bench_concurrency", "loadtest", "coldstart", "report", "rollout", "gateway", "probe_cost", "soak",
            "chaos"} <= found
