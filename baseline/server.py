"""The server-based baseline: a long-running Waitress server on the function's own modules.

Only the routes and defaults differ from the function: parsing, validation, prediction,
errors, health, drain and workers all come from fn/, so the comparison isolates the
deployment model, not the code.
"""

from __future__ import annotations

import sys
import time

from fn import api, serve, settings
from fn.app import HEALTH_PATHS as FN_HEALTH_PATHS
from fn.app import Route
from fn.inference import ModelError, Predictor
from fn.messages import Request, Response, json_response

PREDICT_PATHS = ("/", "/predict")
HEALTH_PATHS = FN_HEALTH_PATHS + ("/healthz",)
DESCRIPTION = "The server-based baseline: POST /predict, GET /metadata, GET /healthz."


def make_route(plane: api.DataPlane) -> Route:
    def route(request: Request) -> Response:
        if request.path in PREDICT_PATHS:
            if request.method != "POST":
                raise api.MethodNotAllowed(request.method, "POST")
            return plane.predict(request)
        if request.path == "/metadata":
            if request.method not in ("GET", "HEAD"):
                raise api.MethodNotAllowed(request.method, "GET")
            return json_response(200, plane.metadata())
        raise api.NotFound(f"no route {request.path}; use POST /predict, GET /metadata or GET /healthz")

    return route


def main(argv: list[str] | None = None) -> int:
    try:
        config = settings.load("baseline", DESCRIPTION, argv)  # a bad flag exits 2 with usage
        started = time.perf_counter()
        model = Predictor(config.model_dir)
    except (settings.ConfigError, ModelError) as e:
        serve.say("baseline", f"cannot start: {e}")
        return 1
    return serve.run(config, "baseline", model, make_route, time.perf_counter() - started, health_paths=HEALTH_PATHS)


if __name__ == "__main__":
    sys.exit(main())
