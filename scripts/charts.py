"""Draw the charts of docs/results.md (image sizes, cold starts, load) from what `make report`
measured under docs/bench/ alone. `make report` runs it after the measuring (python -m
scripts.report); `python -m scripts.render` writes results.md's text.

    python -m scripts.charts
"""

from __future__ import annotations

import sys

from harness import ROOT, cli, results
from harness.charts import charts


def main(argv: list[str] | None = None) -> int:
    cli.parser(__spec__, __file__, __doc__).parse_args(argv)
    data = results.collect()
    if not data["sizes"] or not data["load"]:
        sys.exit("charts: no measurements under docs/bench (python -m scripts.report)")
    pictures = charts(data, ROOT / "docs")
    print(f"wrote {', '.join('docs/' + p for p in pictures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
