"""Render every generated document from the committed inputs (the code, model/, docs/bench/): the
README's example, headline table and serverless line, docs/operating.md's tables, docs/model.md's
scores and its monotone fields (convert/report.py), docs/benchmarks.md's figures, docs/deploy.md's
measured sections, docs/results.md and docs/openapi.json. make runs it after every measurement;
`--check` (make lint, so CI) says which are not current.

    python -m scripts.render [--check]
"""

from __future__ import annotations

import sys

from convert import report
from harness import render
from scripts.fleet.report import readme_line


def main(argv: list[str] | None = None) -> int:
    return render.main(__spec__, __file__, __doc__, [*render.every_section(readme_line), report.SECTION], argv)


if __name__ == "__main__":
    sys.exit(main())
