"""Write docs/openapi.json: the OpenAPI 3.1 document of the three protocols, generated from the
feature specification by fn/api/openapi.py (the same document GET /openapi.json serves).

    python -m scripts.openapi [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fn.api import openapi
from fn.api.body import Limits
from fn.model import MODEL_DIR
from fn.model.intervals import FILE, Intervals
from harness import cli

OUT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def text() -> str:
    """The document the committed model serves with the default limits."""
    intervals = Intervals(json.loads((MODEL_DIR / FILE).read_text()))
    return json.dumps(openapi.document(Limits(), intervals.levels, intervals.default), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/openapi.json is not current")
    args = parser.parse_args(argv)
    if args.check:
        current = OUT.exists() and OUT.read_text() == text()
        print(f"{OUT.name}: {'current' if current else 'stale: run python -m scripts.openapi'}")
        return 0 if current else 1
    OUT.write_text(text())
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
