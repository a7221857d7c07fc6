"""What every command in scripts/ shares: its name as it was run, its progress bar, its JSON
writer and the date stamp its results carry."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

from harness import ROOT


def prog(spec: ModuleSpec | None, file: str) -> str:
    """`python -m scripts.x` when run (or imported) as a module, `python scripts/x.py` when run as a file."""
    if spec is not None and spec.name != "__main__":
        return f"python -m {spec.name}"
    return f"python {Path(file).resolve().relative_to(ROOT)}"


def now() -> str:
    """The date stamp every result carries: UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(path: Path, value: Any, say: bool = True) -> None:
    """A command's results, as JSON under docs/bench/ (or where --json says), and a line saying so
    (unless `say` is False: the commands whose output never had one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1) + "\n")
    if say:
        print(f"wrote {path}")


def progress(items: list[Any], desc: str, quiet: bool = False) -> Iterable[Any]:
    """A tqdm progress bar on stderr; under a bare python3 without tqdm, a line per item."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _lines(items, desc, quiet)
    return tqdm(items, desc=desc, unit="run", disable=quiet, file=sys.stderr)


def _lines(items: list[Any], desc: str, quiet: bool) -> Iterator[Any]:
    for i, item in enumerate(items, 1):
        if not quiet:
            print(f"{desc}: {i}/{len(items)}", file=sys.stderr, flush=True)
        yield item


def parser(spec: ModuleSpec | None, file: str, doc: str | None) -> argparse.ArgumentParser:
    """A command's parser: named as it was run, its module docstring as the description."""
    return argparse.ArgumentParser(prog=prog(spec, file), description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def finish(command: str, measure: Callable[[], Any], render: Callable[[Any], str], path: Path | None,
           expected: tuple[type[BaseException], ...] = (RuntimeError, TimeoutError, OSError)) -> int:
    """A measuring command's end: measure, print the table, write the JSON where asked, 0; a failure
    it expects is one line on stderr, `command: why`, and 1."""
    try:
        result = measure()
    except expected as e:
        print(f"{command}: {e}", file=sys.stderr)
        return 1
    print(render(result))
    if path:
        write_json(path, result)
    return 0
