"""One renderer for the generated documents: every section (between its markers) and every whole
file that is generated, rendered from the committed inputs alone (the code, model/, docs/bench/),
and the one check that the committed documents are what it renders now.

Not here: the pictures (docs/*.png: matplotlib's and Chromium's bytes change with their versions;
`make report` and `python -m scripts.browser` draw them) and docs/scaling.md (the fleet simulation's
document: `python -m scripts.simulate` renders it).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

from fn.api import openapi
from fn.api.body import Limits
from fn.model import MODEL_DIR
from fn.model.intervals import FILE, Intervals
from harness import ROOT, cli, codedocs, figures, readme, results

# (file, section, renderer): section None renders the whole file.
Section = tuple[Path, str | None, Callable[[], str]]
OPENAPI = ROOT / "docs" / "openapi.json"
RESULTS = ROOT / "docs" / "results.md"


def openapi_text() -> str:
    """docs/openapi.json: the document the committed model serves with the default limits."""
    intervals = Intervals(json.loads((MODEL_DIR / FILE).read_text()))
    return json.dumps(openapi.document(Limits(), intervals.levels, intervals.default), indent=2) + "\n"


def report_sections() -> list[Section]:
    """docs/results.md and the README's headline table, from what make report measured."""
    return [(RESULTS, None, lambda: results.results_md(results.collect())),
            (readme.README, "headline", lambda: results.headline(results.collect()))]


def every_section(readme_line: Callable[[dict[str, Any]], str]) -> list[Section]:
    """Every generated document; `readme_line`: the fleet simulation's sentence for the README."""
    return [*codedocs.sections(), *figures.sections(readme_line), (OPENAPI, None, openapi_text), *report_sections()]


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def rendered(sections: list[Section]) -> dict[Path, str]:
    """Each file as the sections would leave it now. ValueError if a file lost its markers."""
    texts: dict[Path, str] = {}
    for path, name, render in sections:
        if name is None:
            texts[path] = render()
        else:
            text = texts.get(path) or path.read_text()
            texts[path] = readme.with_section(text, name, render(), _shown(path))
    return texts


def loose(text: str) -> str:
    """Long decimals to 6 significant digits: the model's log-scale outputs may differ in the last
    bits on another CPU (XNNPACK picks its kernels by instruction set)."""
    return re.sub(r"\d+\.\d{7,}", lambda m: f"{float(m.group()):.6g}", text)


def stale(texts: dict[Path, str]) -> list[Path]:
    """The files whose committed text is not what was rendered (up to the last bits of a float)."""
    return [path for path, text in texts.items() if not path.exists() or loose(path.read_text()) != loose(text)]


def run(sections: list[Section], check: bool, command: str) -> int:
    """What a rendering command does: --check says which files are stale (exit 1), else each file
    that differs is rewritten."""
    try:
        texts = rendered(sections)
    except ValueError as e:  # a file lost its markers
        print(f"{command}: {e}", file=sys.stderr)
        return 1
    if check:
        old = [_shown(p) for p in stale(texts)]
        print(f"stale: {', '.join(old)} (run python -m scripts.{command})" if old else "current")
        return 1 if old else 0
    changed = [p for p, text in texts.items() if not p.exists() or p.read_text() != text]
    for path in changed:
        path.write_text(texts[path])
    print(f"rewrote {', '.join(map(_shown, changed))}" if changed
          else "every generated section was current")
    return 0


def main(spec: ModuleSpec | None, file: str, doc: str | None, sections: list[Section],
         argv: list[str] | None = None) -> int:
    """A rendering command: its --help from its docstring, --check or write."""
    parser = cli.parser(spec, file, doc)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated document is not current")
    args = parser.parse_args(argv)
    return run(sections, args.check, Path(file).stem)
