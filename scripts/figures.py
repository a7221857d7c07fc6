"""Write the generated figures from the project's own outputs (model/metrics.json,
model/manifest.json and docs/bench/*.json), each between its markers: the model's scores in
docs/model.md, the benchmarks in docs/benchmarks.md, the answer to "serverless or server" in the
README. `python -m scripts.render` renders them with every other generated document.

    python -m scripts.figures [--check]            (rewrites those sections in place)
"""

from __future__ import annotations

import sys

from harness import cli, figures, render
from scripts.fleet.report import readme_line


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated section is not current")
    args = parser.parse_args(argv)
    return render.run(figures.sections(readme_line), args.check, "figures")


if __name__ == "__main__":
    sys.exit(main())
