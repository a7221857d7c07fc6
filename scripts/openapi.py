"""Write docs/openapi.json: the OpenAPI 3.1 document of the three protocols, generated from the
feature specification by fn/api/openapi.py (the same document GET /openapi.json serves).

    python -m scripts.openapi [--check]
"""

from __future__ import annotations

import sys

from harness import cli
from harness.render import OPENAPI as OUT
from harness.render import openapi_text as text


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
