"""Write the generated figures from the project's own outputs (model/metrics.json,
model/manifest.json and docs/bench/*.json), each between its markers: the model's scores in
docs/model.md, the benchmarks in docs/benchmarks.md, the measured sections of docs/deploy.md (the
health check, the Lambda cold start), the answer to "serverless or server" in the
README. `python -m scripts.render` renders them with every other generated document.

    python -m scripts.figures [--check]            (rewrites those sections in place)
"""

from __future__ import annotations

import sys

from harness import figures, render
from scripts.fleet.report import readme_line


def main(argv: list[str] | None = None) -> int:
    return render.main(__spec__, __file__, __doc__, figures.sections(readme_line), argv)


if __name__ == "__main__":
    sys.exit(main())
