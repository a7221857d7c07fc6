"""Write the documentation's sections that come from the code, so that they cannot drift from it:
the README's example (the device.json a person writes, and the answer the served model gives it),
and docs/operating.md's settings table (fn/server/settings.py) and metrics table (the
prometheus_client metrics fn/server/metrics.py declares). tests/test_docs.py fails when the
committed files differ from what this renders now; `python -m scripts.render` renders them with
every other generated document.

    python -m scripts.docs [--check]
"""

from __future__ import annotations

import sys

from harness import codedocs, render


def main(argv: list[str] | None = None) -> int:
    return render.main(__spec__, __file__, __doc__, codedocs.sections(), argv)


if __name__ == "__main__":
    sys.exit(main())
