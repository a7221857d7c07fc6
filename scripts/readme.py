"""The README's generated sections: each lives between its own pair of markers and is
rewritten whole by the command that owns it (scripts/figures.py, scripts/report.py)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_section(name: str, body: str, readme: Path = README) -> None:
    """Put `body` between the markers of section `name` (the markers stay)."""
    start, end = markers(name)
    text = readme.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{readme}: no {start} ... {end} markers")
    section = f"{start}\n\n{body.strip()}\n\n{end}"
    readme.write_text(re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S))
