"""The server-based baseline: a long-running Waitress server on the function's own modules.

Only the answer to an unlisted path (fn/routes.py) and the defaults differ from the function:
routes, parsing, validation, prediction, errors, health, drain and workers all come from fn/,
so the comparison isolates the deployment model, not the code.
"""

from __future__ import annotations

import sys
import time

from fn.api import routes
from fn.model.tflite import ModelError, Predictor
from fn.server import serve, settings
from fn.server.app import HEALTH_PATHS as FN_HEALTH_PATHS

HEALTH_PATHS = FN_HEALTH_PATHS + ("/healthz",)
DESCRIPTION = ("The server-based baseline: POST /predict, GET /metadata, GET /healthz, the KServe v1 and "
               "Open Inference Protocol v2 paths, GET /openapi.json.")


def main(argv: list[str] | None = None) -> int:
    try:
        config = settings.load("baseline", DESCRIPTION, argv)  # a bad flag exits 2 with usage
        started = time.perf_counter()
        model = Predictor(config.model_dir)
    except (settings.ConfigError, ModelError) as e:
        serve.say("baseline", f"cannot start: {e}")
        return 1
    return serve.run(config, "baseline", model, routes.server_route, time.perf_counter() - started,
                     health_paths=HEALTH_PATHS)


if __name__ == "__main__":
    sys.exit(main())
