"""The generated sections of the README and docs/: each lives between its own pair of markers
and is rewritten whole by the command that owns it (scripts/figures.py, scripts/docs.py,
scripts/simulate.py), or by scripts/render.py with every other."""

from __future__ import annotations

import re
from pathlib import Path

from harness import ROOT

README = ROOT / "README.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def with_section(text: str, name: str, body: str, where: object = "the text") -> str:
    """`text` with `body` between the markers of section `name` (the markers stay)."""
    start, end = markers(name)
    if start not in text or end not in text:
        raise ValueError(f"{where}: no {start} ... {end} markers")
    section = f"{start}\n\n{body.strip()}\n\n{end}"
    return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)


def replace_section(name: str, body: str, readme: Path = README) -> None:
    """Put `body` between the markers of section `name` in the file `readme` (the markers stay)."""
    readme.write_text(with_section(readme.read_text(), name, body, readme))
