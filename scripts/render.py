"""Render every generated document from the committed inputs (the code, model/, docs/bench/): the
README's example, headline table and serverless line, docs/operating.md's tables, docs/model.md's
scores, docs/benchmarks.md's figures, docs/results.md and docs/openapi.json. make runs it after
every measurement; `--check` (make lint, so CI) says which are not current.

    python -m scripts.render [--check]
"""

from __future__ import annotations

import sys

from harness import cli, render
from scripts.fleet.report import readme_line


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated document is not current")
    args = parser.parse_args(argv)
    return render.run(render.every_section(readme_line), args.check, "render")


if __name__ == "__main__":
    sys.exit(main())
