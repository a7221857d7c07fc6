"""The server-based baseline: a long-running Waitress server on the function's own modules.

Only the defaults differ from the function: routes (fn/api/routes.py), parsing, validation,
prediction, errors, health, drain and workers all come from fn/,
so the comparison isolates the deployment model, not the code.
"""

from __future__ import annotations

import sys

from fn.api import routes
from fn.model.tflite import Predictor
from fn.server import start

DESCRIPTION = ("The server-based baseline: POST /predict, GET /metadata, GET /healthz, the KServe v1 and "
               "Open Inference Protocol v2 paths, GET /openapi.json.")


def main(argv: list[str] | None = None) -> int:
    return start.main("baseline", DESCRIPTION, Predictor, routes.server_route, "baseline", argv)


if __name__ == "__main__":
    sys.exit(main())
